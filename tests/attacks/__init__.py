"""mailscope's own attack suite: hostile servers, hostile logs, hostile token claims, bad local files and a console
replay in tmux. Every attack runs the real `mailscope` console script (or the real console in a tmux pane) and is
judged by one oracle (oracle.py): no piece of a secret longer than 16 characters in any output (raw, base64 at all
three alignments, urlsafe, hex, base64 of UTF-16LE), no raw control byte in terminal-bound or JSON output, no
traceback, an end within the attack's timeout, peak RSS under its bound, and the exit code it expects.

Attacks are data (catalogue.py): a hostile server is a `ServerScript` (greeting and replies per command, for the
protocol it names), so POP3 and SMTP servers slot in as new scripts once `mailscope check` speaks them.

CI runs the fast, derandomized slice (test_attacks.py); the full run prints a pass/fail table:
`python -m tests.attacks [--all] [-k SUBSTRING]`.
"""
