"""The console's pages: server-rendered HTML from string templates (no template engine), every value escaped,
free text and party identifiers masked as in the logs (``hub.logs.mask_text``: KRA PINs, phone numbers,
national-id-like numbers). One stylesheet and one script, both served by the hub (``static/``); the pages work
without the script (the partner table then updates on reload only). Times are East Africa Time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from hub.console.data import DeadLetterRow, Reading
from hub.delivery.records import WindowRow
from hub.delivery.status import PartnerView, duration
from hub.logs import mask_text
from hub.windows import EAT, HUB_TARGET

FAILING = ("circuit_open", "inbox_full", "no_secret")
CATEGORY_ORDER = {"failing": 0, "window": 1, "registry": 2, "unknown": 3, "up": 4}
NAV = (("partners", "/", "Partners"), ("windows", "/windows", "Maintenance"), ("dlq", "/dlq", "Dead letters"),
       ("track", "/track", "Track"))


def h(value: Any) -> str:
    """Escaped text."""
    return escape("" if value is None else str(value), quote=True)


def m(value: Any) -> str:
    """Masked (personal data) and escaped text."""
    return escape(mask_text("" if value is None else str(value)), quote=True)


def category(state: str) -> str:
    if state in ("up", "window", "unknown"):
        return state
    return "failing" if state in FAILING else "registry"




def eat(value: datetime | None, seconds: bool = False) -> str:
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(EAT).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " EAT"


def num(value: int | None) -> str:
    return "-" if value is None else str(value)


def partner_row(v: PartnerView) -> dict[str, Any]:
    """One partner as the live table shows it (the JSON of ``/api/partners``, formatted as the page is)."""
    return {
        "partner": v.partner, "state": v.state, "category": category(v.state), "reasons": list(v.reasons),
        "transport": v.transport, "inbox": num(v.inbox_depth), "held": v.held,
        "oldest": duration(v.oldest_waiting_seconds) if v.held else "-", "oldest_seconds": v.oldest_waiting_seconds,
        "dead": v.dead_letters,
        "eta": duration(v.drain_eta_seconds), "eta_seconds": v.drain_eta_seconds,
        "window_until": eat(v.window_until) if v.window_until else "",
    }


def sorted_views(views: Iterable[PartnerView]) -> list[PartnerView]:
    """Those needing attention first: failing, in a window, registry holds, unknown, then up; most held first."""
    return sorted(views, key=lambda v: (CATEGORY_ORDER[category(v.state)], -v.held, -v.dead_letters, v.partner))


def summary(views: Sequence[PartnerView]) -> dict[str, int]:
    counts = {c: 0 for c in CATEGORY_ORDER}
    for v in views:
        counts[category(v.state)] += 1
    counts["held"] = sum(v.held for v in views)
    counts["dead"] = sum(v.dead_letters for v in views)
    return counts


def api_partners(reading: Reading) -> dict[str, Any]:
    views = sorted_views(reading.views)
    return {"hubs": list(reading.hubs), "updated": reading.at.isoformat(), "updated_eat": eat(reading.at, True),
            "error": reading.error, "summary": summary(views), "partners": [partner_row(v) for v in views]}


# ------------------------------------------------------------------ layout


def layout(title: str, body: str, *, operator: str | None, csrf: str | None, active: str = "",
           flash: tuple[str, str] | None = None) -> str:
    nav = ""
    if operator:
        on = ' class="on" aria-current="page"'
        links = "".join(f'<a href="{href}"{on if key == active else ""}>{label}</a>' for key, href, label in NAV)
        nav = (f'<nav>{links}</nav><form method="post" action="/logout" class="logout">'
               f'<input type="hidden" name="csrf" value="{h(csrf)}"><span class="who">{h(operator)}</span>'
               f'<button type="submit">Log out</button></form>')
    note = ""
    if flash:
        kind, text = flash
        note = f'<p class="flash flash-{h(kind)}" role="status">{m(text)}</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{h(title)} · hub console</title>"
        '<link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script>'
        f'</head><body data-page="{h(active)}"><header class="top"><a class="brand" href="/">NESWS hub</a>{nav}'
        f"</header><main>{note}{body}</main>"
        '<footer>Times in East Africa Time (EAT, UTC+3). Personal data is masked.</footer></body></html>'
    )


def login_page(token: str, error: str | None = None, name: str = "", next_url: str = "/") -> str:
    err = f'<p class="flash flash-error" role="alert">{h(error)}</p>' if error else ""
    action = "/login" + (f"?next={quote(next_url, safe='')}" if next_url != "/" else "")
    body = (f'<section class="login"><h1>Operator login</h1>{err}<form method="post" action="{h(action)}">'
            f'<input type="hidden" name="csrf" value="{h(token)}">'
            f'<label>Name <input name="name" autocomplete="username" required value="{h(name)}" autofocus></label>'
            '<label>Password <input name="password" type="password" autocomplete="current-password" required>'
            '</label><button type="submit">Log in</button></form></section>')
    return layout("Login", body, operator=None, csrf=None, active="login")


def message_page(title: str, text: str, *, operator: str | None, csrf: str | None) -> str:
    return layout(title, f"<h1>{h(title)}</h1><p>{m(text)}</p>", operator=operator, csrf=csrf)


# ------------------------------------------------------------------ partners


def _row_html(v: PartnerView) -> str:
    r = partner_row(v)
    pid = quote(v.partner, safe="")
    return (f'<tr data-partner="{h(v.partner)}" data-category="{r["category"]}">'
            f'<td data-col="partner"><a href="/partners/{pid}">{h(v.partner)}</a></td>'
            f'<td data-col="state"><span class="state state-{r["category"]}" title="{h(", ".join(v.reasons))}">'
            f'{h(v.state)}</span></td>'
            f'<td data-col="inbox" class="num">{r["inbox"]}</td><td data-col="held" class="num">{r["held"]}</td>'
            f'<td data-col="oldest" class="num">{r["oldest"]}</td>'
            f'<td data-col="dead" class="num"><a href="/dlq?partner={pid}">{r["dead"]}</a></td>'
            f'<td data-col="eta" class="num">{r["eta"]}</td><td data-col="until">{h(r["window_until"])}</td></tr>')


def partners_page(reading: Reading, *, operator: str, csrf: str, flash: tuple[str, str] | None = None) -> str:
    views = sorted_views(reading.views)
    s = summary(views)
    boxes = "".join(f'<div class="box box-{key}"><span data-count="{key}">{s[key]}</span> {label}</div>'
                    for key, label in (("up", "up"), ("window", "in a window"), ("failing", "failing"),
                     ("registry", "suspended or deregistered"), ("unknown", "unknown"),
                     ("held", "held deliveries"), ("dead", "dead letters")))
    error = f'<p class="flash flash-error" id="error">{h(reading.error)}</p>' if reading.error else \
        '<p class="flash flash-error" id="error" hidden></p>'
    rows = "".join(_row_html(v) for v in views)
    body = (
        f'<h1>Partners</h1><div class="summary" id="summary">{boxes}</div>{error}'
        f'<p class="meta">Running hubs reporting: <span id="hubs">'
        f'{h(", ".join(reading.hubs) or "none (states unknown)")}'
        f'</span> · updated <time id="updated">{h(eat(reading.at, True))}</time> '
        '<span id="live" class="live" hidden>live</span></p>'
        '<div class="controls"><input id="filter" type="search" placeholder="Filter partners" '
        'aria-label="Filter partners">'
        '<label><input type="checkbox" id="attention"> only those needing attention</label></div>'
        '<div class="scroll"><table id="partners" class="grid" data-live="/api/partners"><thead><tr>'
        '<th>Partner</th><th>State</th><th class="num">Inbox</th><th class="num">Held</th>'
        '<th class="num">Oldest</th><th class="num">Dead</th><th class="num">Drain ETA</th><th>Window until</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        '<p class="help">Held: deliveries waiting for the partner (hub queues and store). Oldest: age of the oldest '
        "one the hubs know of. Drain ETA: held / delivery rate, plus what remains of a window. Failing: an open "
        "circuit, a full inbox or a missing webhook secret (docs/operations.md section 12).</p>"
    )
    return layout("Partners", body, operator=operator, csrf=csrf, active="partners", flash=flash)


def chart_svg(partner: str, history: Sequence[tuple[datetime, int | None, int | None]]) -> str:
    """Deliveries per minute (bars, left scale) and the largest held count of each minute (line, right scale)
    for the last hour, as an inline SVG (no script)."""
    width, height, left, right, top, bottom = 720, 220, 44, 56, 16, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(history), 1)
    step = plot_w / n
    delivered = [d or 0 for _at, d, _held in history]
    helds = [x for _at, _d, x in history]
    dmax = max(max(delivered, default=0), 1)
    hmax = max(max((x or 0 for x in helds), default=0), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="chart-title-{h(partner)}"><title id="chart-title-{h(partner)}">Deliveries per minute '
             f"and held deliveries for {h(partner)}, last hour</title>",
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>']
    for i, value in enumerate(delivered):
        if value:
            bh = plot_h * value / dmax
            parts.append(f'<rect class="bar" x="{left + i * step + 1:.1f}" y="{top + plot_h - bh:.1f}" '
                         f'width="{max(step - 2, 1):.1f}" height="{bh:.1f}"><title>{h(eat(history[i][0]))}: '
                         f"{value} delivered</title></rect>")
    points = [(left + (i + 0.5) * step, top + plot_h - plot_h * x / hmax, i, x)
              for i, x in enumerate(helds) if x is not None]
    if len(points) > 1:
        parts.append(f'<polyline class="held" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _i, _v in points)}"/>')
    parts.extend(f'<circle class="held-dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{h(eat(history[i][0]))}: '
                 f"{v} held</title></circle>" for x, y, i, v in points)
    parts.append(f'<text x="{left - 4}" y="{top + 10}" class="axis" text-anchor="end">{dmax}</text>'
                 f'<text x="{left - 4}" y="{top + plot_h}" class="axis" text-anchor="end">0</text>'
                 f'<text x="{width - right + 4}" y="{top + 10}" class="axis held-axis">{hmax}</text>'
                 f'<text x="{left}" y="{height - 8}" class="axis">-60 min</text>'
                 f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" class="axis" text-anchor="middle">-30 min</text>'
                 f'<text x="{left + plot_w}" y="{height - 8}" class="axis" text-anchor="end">now</text></svg>')
    return "".join(parts)


def partner_page(config_partner: Any, view: PartnerView | None, reading: Reading,
                 history: Sequence[tuple[datetime, int | None, int | None]], windows: Sequence[tuple[WindowRow, str]],
                 *, operator: str, csrf: str) -> str:
    pid = config_partner.id
    qid = quote(pid, safe="")
    if view is None:
        figures = "<p>No figures yet.</p>"
    else:
        r = partner_row(view)
        items = (("State", f'<span class="state state-{r["category"]}">{h(view.state)}</span>'),
                 ("Reasons", h(", ".join(view.reasons) or "-")), ("Transport", h(view.transport)),
                 ("Inbox depth", r["inbox"]), ("Held", f'<span id="held">{view.held}</span>'),
                 ("Oldest waiting", r["oldest"]),
                 ("Dead letters", f'<a href="/dlq?partner={qid}">{view.dead_letters}</a>'),
                 ("Delivery rate", "?" if view.rate is None else f"{view.rate:.1f}/s"), ("Drain ETA", r["eta"]),
                 ("Window until", h(r["window_until"] or "-")))
        figures = '<dl class="figures">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"
    seen = [(at, d, x) for at, d, x in history if d is not None]
    rows = "".join(f"<tr><td>{h(eat(at))}</td><td class=\"num\">{d}</td><td class=\"num\">{num(x)}</td></tr>"
                   for at, d, x in seen)
    table = (f'<details><summary>The figures ({len(seen)} minute(s) seen)</summary><div class="scroll"><table '
             f'class="grid" id="throughput"><thead><tr><th>Minute</th><th class="num">Delivered</th>'
             f'<th class="num">Held (max)</th></tr></thead><tbody>{rows}</tbody></table></div></details>')
    wins = "".join(f"<li>{h(w.id)}: {h(eat(w.start))} → {h(eat(w.end))} <b>{h(state)}</b>"
                   f"{' (' + m(w.reason) + ')' if w.reason else ''}</li>" for w, state in windows)
    body = (
        f'<h1>{h(pid)} <small>{m(config_partner.name)}</small></h1>{figures}'
        f'<h2>Throughput, last hour</h2><div class="chart-box">{chart_svg(pid, history)}</div>'
        '<p class="legend"><span class="key key-bar"></span> deliveries per minute (all running hubs, left scale) '
        '<span class="key key-held"></span> held deliveries (right scale)</p>'
        '<p class="help">From the running hubs\' delivery counters in the store, sampled by this console since it '
        "started; minutes before that are empty.</p>"
        f"{table}<h2>Maintenance windows</h2><ul>{wins or '<li>none scheduled</li>'}</ul>"
        f'<p><a class="button" href="/windows?target={qid}">Schedule a window for {h(pid)}</a></p>'
    )
    return layout(pid, body, operator=operator, csrf=csrf, active="partners")


# ------------------------------------------------------------------ windows


def windows_page(rows: Sequence[tuple[WindowRow, str]], targets: Sequence[str], *, include_past: bool,
                 operator: str, csrf: str, flash: tuple[str, str] | None = None, target: str = "",
                 form: dict[str, str] | None = None) -> str:
    form = form or {}
    lines = []
    for w, state in rows:
        flags = " ".join(f for f, on in (("short notice", w.short_notice), ("emergency", w.emergency)) if on)
        notices = ", ".join(n for n, at in (("scheduled", w.notice_sent_at), ("reminder", w.reminder_sent_at),
                                            ("cancelled", w.cancel_sent_at)) if at) or "-"
        cancel = ""
        if state in ("scheduled", "active"):
            cancel = (f'<form method="post" action="/windows/{w.id}/cancel" data-confirm="Cancel window {w.id} '
                      f'({h(w.target)})? Its deliveries resume and notified partners get a CANCELLED notice.">'
                      f'<input type="hidden" name="csrf" value="{h(csrf)}"><button type="submit" class="danger">'
                      "Cancel</button></form>")
        lines.append(f'<tr data-window="{w.id}" data-state="{h(state)}"><td>{w.id}</td><td>{h(w.target)}</td>'
                     f"<td>{h(eat(w.start))}</td><td>{h(eat(w.end))}</td>"
                     f'<td class="num">{(w.end - w.start).total_seconds() / 3600:.1f}</td><td>{h(state)}</td>'
                     f'<td>{h(flags)}</td><td class="wrap">{m(w.reason or "")}</td><td>{h(notices)}</td>'
                     f"<td>{cancel}</td></tr>")
    options = "".join(f'<option value="{h(t)}"{" selected" if t == (form.get("target") or target) else ""}>{h(t)}'
                      "</option>" for t in [HUB_TARGET, *targets])
    past = ('<a href="/windows">hide past windows</a>' if include_past else
            '<a href="/windows?all=1">show past and cancelled windows</a>')
    body = (
        '<h1>Maintenance windows</h1><div class="scroll"><table class="grid" id="windows"><thead><tr><th>Id</th>'
        "<th>Target</th><th>Start</th><th>End</th><th class=\"num\">Hours</th><th>State</th><th>Flags</th>"
        "<th>Reason</th><th>Notices sent</th><th></th></tr></thead><tbody>"
        f"{''.join(lines) or '<tr><td colspan=10>no maintenance windows</td></tr>'}</tbody></table></div>"
        f"<p>{past}</p>"
        '<h2>Schedule a window</h2><form method="post" action="/windows" class="stack" id="add-window">'
        f'<input type="hidden" name="csrf" value="{h(csrf)}">'
        f'<label>Target <select name="target" required>{options}</select></label>'
        f'<label>Start (EAT) <input name="start" type="datetime-local" required value="{h(form.get("start", ""))}">'
        f'</label><label>End (EAT) <input name="end" type="datetime-local" required value="{h(form.get("end", ""))}">'
        '</label><label class="check"><input type="checkbox" name="emergency" value="1"> emergency maintenance '
        "(regulation 32(3))</label>"
        f'<label>Reason (goes into the notices; no personal data) <textarea name="reason" maxlength="512" rows="2">'
        f'{h(form.get("reason", ""))}</textarea></label><button type="submit">Schedule</button></form>'
        '<p class="help">Regulation 32: a window of <b>hub</b> (the single window itself) needs 48 hours\' notice '
        "unless it is emergency maintenance. A partner's window is recorded whatever its notice and flagged "
        "<i>short notice</i> under 48 hours. A window may start in the past if it has not ended. Affected partners "
        "are notified by the running hub (SCHEDULED now, REMINDER at the start, CANCELLED if cancelled); the "
        "target's deliveries are held during it.</p>"
    )
    return layout("Maintenance", body, operator=operator, csrf=csrf, active="windows", flash=flash)


# ------------------------------------------------------------------ dead letters


def _dead_cells(d: DeadLetterRow, link: bool = True) -> str:
    ident = f'<a href="/dlq/{d.id}">{d.id}</a>' if link else str(d.id)
    return (f'<td>{ident}</td><td>{h(d.partner)}</td><td>{h(d.msg_type)}</td><td>{h(d.sender)}</td>'
            f'<td class="num">{d.attempts}</td><td>{h(d.reason)}</td><td class="error">{m((d.last_error or "")[:160])}'
            f"</td><td>{h(eat(d.dead_at))}</td>")


def dlq_page(rows: Sequence[DeadLetterRow], total: int, partner: str | None, partners: Sequence[str],
             behind: dict[str, int], *, operator: str, csrf: str, flash: tuple[str, str] | None = None) -> str:
    options = '<option value="">every partner</option>' + "".join(
        f'<option value="{h(p)}"{" selected" if p == partner else ""}>{h(p)}</option>' for p in partners)
    lines = "".join(f'<tr data-dead="{d.id}"><td><input type="checkbox" name="id" value="{d.id}" '
                    f'aria-label="select dead letter {d.id}"></td>{_dead_cells(d)}</tr>' for d in rows)
    shown = f"{total} dead letter(s)" + (f" for {h(partner)}" if partner else "")
    if total > len(rows):
        shown += f", the oldest {len(rows)} shown"
    waits = "".join(f"<li>{h(p)}: {n} later deliveries wait behind a dead letter or a delivery being retried</li>"
                    for p, n in sorted(behind.items()) if not partner or p == partner)
    every = ""
    if partner and total:
        every = (f'<input type="hidden" name="partner" value="{h(partner)}">'
                 f'<button type="submit" name="action" value="replay-partner">Replay all {total} of {h(partner)}'
                 f'</button><button type="submit" name="action" value="purge-partner" class="danger">Purge all '
                 f"{total} of {h(partner)}</button>")
    body = (
        '<h1>Dead letters</h1><form method="get" action="/dlq" class="inline"><label>Partner '
        f'<select name="partner">{options}</select></label><button type="submit">Show</button></form>'
        f'<p class="meta" id="dlq-count">{shown}</p>'
        f'<form method="post" action="/dlq/action" id="dlq-form"><input type="hidden" name="csrf" value="{h(csrf)}">'
        '<div class="scroll"><table class="grid" id="dlq"><thead><tr><th><input type="checkbox" id="select-all" '
        'aria-label="select all"></th><th>Id</th><th>Partner</th><th>Type</th><th>From</th><th class="num">Attempts'
        "</th><th>Reason</th><th>Last error</th><th>Dead since</th></tr></thead>"
        f"<tbody>{lines or '<tr><td colspan=9>no dead letters</td></tr>'}</tbody></table></div>"
        '<div class="actions"><button type="submit" name="action" value="replay">Replay selected</button>'
        '<button type="submit" name="action" value="purge" class="danger">Purge selected</button>'
        f"{every}</div></form>"
        f"{_waits(waits)}"
        '<p class="help">Replay: each dead letter becomes its consignment\'s head again, attempts from zero, and '
        "the running hub delivers it and then the deliveries that waited behind it, in order. Purge: deleted for "
        "good, the partner never gets it (its sender was told delivery_failed); the deliveries behind it then go. "
        "Find and fix the cause first (the last error). Both ask for confirmation.</p>"
    )
    return layout("Dead letters", body, operator=operator, csrf=csrf, active="dlq", flash=flash)


def _waits(items: str) -> str:
    return f'<ul class="waits">{items}</ul>' if items else ""


def dead_letter_page(d: DeadLetterRow, *, operator: str, csrf: str) -> str:
    items = (("Partner", h(d.partner)), ("Type", h(d.msg_type)), ("From", h(d.sender)),
             ("Message id (delivery)", h(d.message_id)), ("Sender's message id", h(d.correlation_id or "-")),
             ("Consignment lane", h(d.lane)), ("Attempts", str(d.attempts)), ("Reason", h(d.reason)),
             ("Last error", f'<span class="error">{m(d.last_error or "-")}</span>'),
             ("Dead since", h(eat(d.dead_at, True))), ("Queued", h(eat(d.queued_at, True))),
             ("Content", f"{h(d.content_type)}, {d.size} bytes"))
    body = (f"<h1>Dead letter {d.id}</h1><dl class=\"figures\">"
            + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"
            '<p class="help">The body is not shown here (it holds personal data): <code>hub dlq show ID --body</code>.'
            "</p>"
            f'<form method="post" action="/dlq/action" class="actions"><input type="hidden" name="csrf" '
            f'value="{h(csrf)}"><input type="hidden" name="id" value="{d.id}">'
            '<button type="submit" name="action" value="replay">Replay</button>'
            '<button type="submit" name="action" value="purge" class="danger">Purge</button></form>'
            '<p><a href="/dlq">all dead letters</a></p>')
    return layout(f"Dead letter {d.id}", body, operator=operator, csrf=csrf, active="dlq")


def confirm_page(action: str, rows: Sequence[DeadLetterRow], ids: Sequence[int], *, operator: str, csrf: str) -> str:
    verb = "Replay" if action == "replay" else "Purge"
    what = ("Each becomes its consignment's head again with its attempts back to zero; the running hub delivers it, "
            "then the deliveries that waited behind it." if action == "replay" else
            "They are deleted for good: the partner never gets them. The deliveries that waited behind them then go.")
    hidden = "".join(f'<input type="hidden" name="id" value="{i}">' for i in ids)
    lines = "".join(f"<tr>{_dead_cells(d, link=False)}</tr>" for d in rows[:200])
    more = f"<p>… and {len(ids) - 200} more.</p>" if len(ids) > 200 else ""
    body = (f"<h1>{verb} {len(ids)} dead letter(s)?</h1><p>{what}</p>"
            '<div class="scroll"><table class="grid"><thead><tr><th>Id</th><th>Partner</th><th>Type</th><th>From</th>'
            '<th class="num">Attempts</th><th>Reason</th><th>Last error</th><th>Dead since</th></tr></thead>'
            f"<tbody>{lines}</tbody></table></div>{more}"
            f'<form method="post" action="/dlq/action" class="actions" id="confirm-form">'
            f'<input type="hidden" name="csrf" value="{h(csrf)}"><input type="hidden" name="action" value="{action}">'
            f'<input type="hidden" name="confirmed" value="yes">{hidden}'
            f'<button type="submit" class="{"danger" if action == "purge" else ""}" id="confirm">Confirm: '
            f'{verb.lower()} {len(ids)}</button><a href="/dlq" class="button secondary">Back, do nothing</a></form>')
    return layout(f"{verb} dead letters", body, operator=operator, csrf=csrf, active="dlq")


# ------------------------------------------------------------------ track


def track_page(ref: str, doc: dict[str, Any] | None, *, operator: str, csrf: str) -> str:
    form = ('<form method="get" action="/track" class="inline" id="track-form"><label>Reference '
            f'<input name="ref" value="{m(ref)}" maxlength="64" required placeholder="UCR, container, bill of lading, '
            'entry, permit, IMO/voyage…"></label><button type="submit">Find</button></form>')
    out = []
    if doc is not None and not doc["consignments"]:
        out.append(f'<p class="flash flash-error" id="not-found">No consignment found for {m(ref)}.</p>')
    for c in (doc or {}).get("consignments", []):
        events = "".join(
            f"<tr><td>{h(e['at_eat'])}</td><td>{h(e['type'])}</td><td>{h(e['sender'])}</td>"
            f"<td>{h(_event_status(e))}</td></tr>" for e in c["events"])
        waiting = "; ".join(m(w["text"]) + (f" [{h(w['code'])}]" if w["code"] else "") for w in c["waiting_for"])
        refs = ", ".join(f"{h(r['kind'])} {h(r['value'])}" for r in c["references"])
        parties = ", ".join(f"{h(p['role'])} {m(p['id'])}" + (f" ({h(p['partner'])})" if p["partner"] else "")
                            for p in c["parties"])
        out.append(
            f'<section class="consignment" data-ucr="{h(c["ucr"])}"><h2>UCR {h(c["ucr"])} '
            f"<small>found by {m(ref)}</small></h2>"
            f'<dl class="figures"><dt>Status</dt><dd class="status">{h(c["status"])}</dd><dt>Since</dt>'
            f'<dd>{h(c["since_eat"])}</dd><dt>Waiting for</dt><dd>{waiting or "nothing"}</dd>'
            f"<dt>References</dt><dd>{refs or '-'}</dd><dt>Parties</dt><dd>{parties or '-'}</dd></dl>"
            '<div class="scroll"><table class="grid timeline"><thead><tr><th>Time (EAT)</th><th>Type</th>'
            f"<th>Sender</th><th>Status</th></tr></thead><tbody>{events}</tbody></table></div></section>")
    body = f"<h1>Where does a consignment stand?</h1>{form}{''.join(out)}"
    return layout("Track", body, operator=operator, csrf=csrf, active="track")


def _event_status(e: dict[str, Any]) -> str:
    stage, status = e.get("stage"), e.get("status")
    if stage is None:
        return str(status or "-")
    return str(stage) if status in (None, stage) else f"{stage} ({status})"
