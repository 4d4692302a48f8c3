class LoadError(ValueError):
    """A problem with a whole file or source: it names the file and says what to do."""


class ValidationFailed(LoadError):
    """Raised by ``strict=True`` loads: every failure, listed at once.

    ``quarantine`` holds the same failures as a DataFrame a person can filter.
    """

    def __init__(self, message: str, quarantine):
        super().__init__(message)
        self.quarantine = quarantine
