"""Run the `sweep` command line in-process, as a shell would: (exit code, stdout, stderr)."""

import pytest

from sweep.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err
