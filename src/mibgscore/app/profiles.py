"""Readers' full names, as reports print them ("Dr Anne Martin"), beside their user names.

A table of its own (``user_profiles``), so the accounts table stays as it is: a user without
a profile is named by the user name.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mibgscore.app.db import Base, User
from mibgscore.app.storage import Store
from mibgscore.errors import ServiceError

MAX_FULL_NAME = 120


class UserProfile(Base):
    """The full name of one user."""

    __tablename__ = "user_profiles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    full_name: Mapped[str] = mapped_column(String(MAX_FULL_NAME))


def display_names(s: Session) -> dict[int, str]:
    """Full name by user id; the user name where no full name is recorded."""
    names = {u.id: u.username for u in s.scalars(select(User))}
    if inspect(s.get_bind()).has_table(UserProfile.__tablename__):
        for p in s.scalars(select(UserProfile)):
            if p.full_name.strip():
                names[p.user_id] = p.full_name.strip()
    return names


def set_full_name(store: Store, username: str, full_name: str) -> None:
    """Record the full name of ``username`` (an empty name removes it).

    Raises
    ------
    ServiceError
        No such user, or the name is longer than 120 characters or spans several lines.
    """
    full_name = full_name.strip()
    if len(full_name) > MAX_FULL_NAME or "\n" in full_name or "\r" in full_name:
        raise ServiceError(f"a full name is one line of at most {MAX_FULL_NAME} characters.")
    with store.session() as s, s.begin():
        UserProfile.__table__.create(s.connection(), checkfirst=True)
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise ServiceError(f"there is no user {username!r}.")
        profile = s.get(UserProfile, user.id)
        if not full_name:
            if profile is not None:
                s.delete(profile)
        elif profile is None:
            s.add(UserProfile(user_id=user.id, full_name=full_name))
        else:
            profile.full_name = full_name
