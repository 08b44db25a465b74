"""Fleet audit: many mailboxes checked in one run, UI-free.

    plan = read_plan(path, base_settings)            # plan: the mailboxes CSV -> items, and a message per bad row
    totals = await run_audit(plan.items, credentials, diagnoser, output.append, options=AuditOptions())   # runner
    summary = summarize(results)                     # summary: grouped by finding, as data, text or Markdown

`plan` reads the CSV (a regular file under a size cap) and turns each row into CheckSettings; `runner` runs the rows
through `mailscope.check.run_check` with bounded concurrency (global and per host), backs off and retries what the
server throttled (`throttle`), diagnoses each session once and hands its redacted `mailscope.report/1` record (with the
row's identity) to the output; `output` appends whole JSON lines and reads them back for `--resume`; `summary` groups
the records by their primary finding. Tokens come from the caller (providers/ shares one app-only token per tenant).
"""
