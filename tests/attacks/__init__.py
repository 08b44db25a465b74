"""mailscope's own attack suite: hostile IMAP/POP3/SMTP servers, hostile logs, hostile token claims, bad local files,
sheets, scenario/course/answers files and numbers, and a console replay in tmux. Every attack runs the real
`mailscope` console script (or the real console in a tmux pane; the train reveal in-process, see training.py) and is
judged by one oracle (oracle.py): no piece of a secret longer than 16 characters in any output or file it writes (raw,
base64 at all three alignments, urlsafe, hex, base64 of UTF-16LE), no raw control byte in terminal-bound or JSON
output, no traceback nor "internal error", an end within the attack's timeout, peak RSS under its bound, the exit code
it expects and, where it matters, the diagnosis it must give (`required`).

Attacks are data: attack.py (what an attack is), catalogue.py (all of them: logs, local files, the console),
scripts.py (hostile servers: a `ServerScript` per protocol, servers.py serves it), inputs.py (sheets, data files,
numeric options), training.py (the reveal), payloads.py (control sequences, JWTs, logs).

CI runs the fast, derandomized slice (test_attacks.py); the full run prints a pass/fail table:
`python -m tests.attacks [--all] [-k SUBSTRING]`.
"""
