"""The one exception type for bad user input. The CLI turns it into one line and exit code 2."""


class SpecError(ValueError):
    """A specification, scenario or command-line value is invalid. The message names the field
    and what is allowed; it is meant to be shown to the user as is."""
