"""Fleet audit: many mailboxes checked in one run, UI-free.

    plan = plan_audit(read_csv_file(path), base, secret_source=parse, adapt=adapt)   # plan: rows -> items, bad rows
    await run_audit(plan.items, credentials, diagnoser, emit, options=AuditOptions())   # runner: one record per mailbox
    summary = summarize(MailboxResult.from_record(r) for r in records)                # summary: grouped by finding

`plan` reads the CSV (a regular file under a size cap) and turns each row into CheckSettings; `runner` runs the rows
through `mailscope.check.run_check` with bounded concurrency (global and per host), backs off and retries what the
server throttled (`throttle`), diagnoses each session once and hands its redacted `mailscope.report/1` record (with the
row's identity) to `emit`; `output` appends whole JSON lines and reads them back for `--resume`; `summary` groups
the records by their primary finding. Tokens come from the caller (providers/shared_tokens shares one app-only token
per tenant and app).
"""
