"""Error types: a `UserError` is reported as one line without a traceback."""


class UserError(Exception):
    """A problem the user can fix (bad params, missing file, checksum mismatch).

    The CLI prints ``error: <message>`` and exits with status 2; the message
    must name the key, file or value at fault.
    """


class ConfigError(UserError):
    """params.yaml is malformed, names an unknown preset, or holds a bad value."""


class DataError(UserError):
    """A dataset file is missing, unreadable, or fails its checksum."""


class CheckpointError(UserError):
    """A checkpoint is corrupt, unsafe to load, or belongs to another config."""


class Terminated(UserError):
    """The run was asked to stop (SIGTERM: a scheduler's time limit or preemption) and saved a checkpoint."""
