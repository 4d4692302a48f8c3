class LoadError(ValueError):
    """A problem with a whole file or source: it names the file and says what to do.

    Examples
    --------
    >>> from analytics import load_history
    >>> from analytics.io import LoadError
    >>> try:
    ...     load_history("no/such/folder")
    ... except LoadError as error:
    ...     print(error)
    no/such/folder: no such file or folder; give a folder of exports, a file, or a database URL
    """


class ValidationFailed(LoadError):
    """Raised by ``strict=True`` loads: every failure, listed at once.

    ``quarantine`` holds the same failures as a DataFrame a person can filter.

    Examples
    --------
    >>> import tempfile
    >>> from analytics import load_history
    >>> from analytics.datasets import load_sample
    >>> from analytics.io import ValidationFailed
    >>> from analytics.sample import write_export
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_export(load_sample(), folder, defects=0.01)
    >>> try:
    ...     load_history(folder, strict=True)
    ... except ValidationFailed as failed:
    ...     print(len(failed.quarantine), failed.quarantine["column"].value_counts().index[0])
    209 complaint_id
    """

    def __init__(self, message: str, quarantine):
        super().__init__(message)
        self.quarantine = quarantine
