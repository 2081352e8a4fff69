"""Errors a user sees as one clear line; each carries the exit code the `lab` command returns."""


class LabError(Exception):
    """Something the user can fix; printed as one line."""

    exit_code = 1


class BadInput(LabError):
    """Invalid topology, option or value: nothing was created."""

    exit_code = 2


class MissingRequirement(LabError):
    """Not root, or an OS package is missing."""

    exit_code = 2


class Refused(BadInput):
    """A refusal worded as the emulated tool words it (`Error from server (NotFound): pods "x" not found`)."""
