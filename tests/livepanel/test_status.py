"""The status line: the current message, the history one click away, conditions that clear."""

from jupyter_tracker.livepanel.status import KEEP, StatusLine


def test_events_conditions_and_history():
    line = StatusLine()
    assert line.html() == "" and line.shown() == ""
    line.event("first warning")
    line.event("second <warning>")
    assert line.shown() == "second <warning>"
    html = line.html()
    assert "<details" in html and "&lt;warning&gt;" in html and "first warning" in html and "2 messages" in html
    line.set("sync", "sync retrying: refused")
    assert line.shown() == "sync retrying: refused"
    line.clear("sync", "sync recovered")
    assert line.shown() == "" and "no problem now" in line.html() and "sync recovered" in line.html()
    line.clear("sync")  # clearing twice is harmless
    for i in range(KEEP + 10):
        line.event(f"m{i}")
    assert len(line.history) == KEEP
