cd /work/main
nice -n 10 .venv/bin/python benchmarks/fuzz.py --n 10000 --seed 14 --commands info --work /tmp/fuzz10k/work --out /tmp/fuzz10k/report-info.md --log /tmp/fuzz10k/fuzz-10k-info.jsonl > /tmp/fuzz10k/stdout-info.txt 2>&1
nice -n 10 .venv/bin/python benchmarks/fuzz.py --n 10000 --seed 14 --commands score --work /tmp/fuzz10k/work --out /tmp/fuzz10k/report-score.md --log /tmp/fuzz10k/fuzz-10k-score.jsonl > /tmp/fuzz10k/stdout-score.txt 2>&1
