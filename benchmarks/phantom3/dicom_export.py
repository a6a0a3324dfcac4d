def write_dicom(case, path):
    raise NotImplementedError
