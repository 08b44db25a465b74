"""Pair-debugging as the README tells it: the console runs in a tmux session with `window-size smallest`, a second
engineer attaches read-only from a smaller terminal and sees the whole console (status line, both panes,
footer), not a cropped corner of the host's 120x36 layout; the console lays itself out for 80x24.

The viewer attaches with `-f read-only`, not `-r`: `-r` also sets ignore-size, so tmux keeps laying the window out
for the host and a smaller viewer sees only its top-left corner (the bug the issue reported).

Two real terminals: each client is a `tmux attach` running inside a pane of an outer tmux server (host 120x36,
viewer 80x24). Fails, never skips, without tmux."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.tmux


def test_a_read_only_viewer_at_80x24_sees_the_whole_console_while_the_host_drives_it(tmux):
    console = type(tmux)(tmux.tmp)  # the console's own tmux server: the README's commands
    try:
        console.new_session("pair", tmux.mailscope, 120, 36, fixed=False)
        console.run("set-option", "-g", "window-size", "smallest")
        attach = " ".join(["env -u TMUX", *console.base, "attach", "-t", "pair"])
        host = tmux.new_session("host", attach, 120, 36)
        host.wait_for("press r to run", 30)
        # read-only, but counted for the size: `-r` would also set ignore-size, and the viewer would see a crop
        viewer = tmux.new_session("viewer", attach + " -f read-only", 80, 24)

        screen = viewer.wait_for("^p palette", 30)  # the footer: the layout follows the smaller client
        lines = screen.splitlines()
        assert "mailscope" in lines[0], screen  # the status line, not a cut-off middle
        assert "q Quit" in screen and "Transcript" in screen and "Diagnosis" in screen, screen  # both panes, stacked
        assert max(len(line) for line in lines) <= 80, screen

        host.keys("r")  # the host drives; the viewer watches the same console
        viewer.wait_for("basic_auth_mechanism_used_when_disabled", 60)
        viewer.keys("q")  # read-only: the viewer's keys do not reach the console
        time.sleep(1)
        assert "EXIT=" not in host.screen()
        host.keys("q")
        host.wait_for("EXIT=0", 15)  # the console ended normally (its pane says so)
    finally:
        console.close()
