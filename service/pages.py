"""Server-rendered HTML for people: the API reference (from the OpenAPI document) and the price changes.

Plain HTML with the calculator's stylesheet and no script at all, so both pages
work with no network (nothing is loaded from a CDN) and read the same in any
browser. Every text that comes from data is escaped; descriptions written in
the API's own Markdown subset (``code`` in backticks) get their code spans.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from ratecard.service.schemas import ChangesetOut

STATIC_DIR = Path(__file__).parent / "static"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_CODE = re.compile(r"`([^`]+)`")
# The calculator's icon, inline, so no page asks for /favicon.ico.
FAVICON = (
    '<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=\'http://www.w3.org/2000/svg\' viewBox=\'0 0 24 24\'%3E'
    "%3Crect x='2' y='3' width='20' height='18' rx='4' fill='%234338ca'/%3E%3Cpath d='M6 15.5h3.5V12H13V8.5h5' "
    "fill='none' stroke='white' stroke-width='2' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E\">"
)


@cache
def asset_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: a page picks up a new asset as soon as it is itself refetched."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def text(value: object) -> str:
    """Escaped text with `backtick` spans as <code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(str(value)))


def page(title: str, body: str, *, head: str = "", current: str = "") -> str:
    """A whole page: the calculator's header, ``body`` in <main>, and the two stylesheets."""
    marked = ' aria-current="page"'
    nav = "".join(
        f'<a href="{href}"{marked if href == current else ""}>{label}</a>'
        for href, label in (("/calculator", "Calculator"), ("/schema", "API reference"), ("/changes", "Price changes"))
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{escape(title)} · ratecard</title>\n{FAVICON}\n"
        f'<link rel="stylesheet" href="{asset_url("calculator.css")}">\n'
        f'<link rel="stylesheet" href="{asset_url("pages.css")}">\n{head}</head>\n<body class="doc-page">\n'
        '<header class="site-header"><div class="wrap site-header-inner">'
        '<a class="brand" href="/calculator"><span>ratecard</span></a>'
        f'<nav aria-label="ratecard">{nav}</nav></div></header>\n'
        f'<main class="wrap doc">\n{body}\n</main>\n</body>\n</html>\n'
    )


# ---------------------------------------------------------------- the API reference


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_html(schema: Mapping[str, Any] | None) -> str:
    """A schema's type in words, each named schema a link to its section."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if len(schema.get("allOf", ())) == 1:
        return type_html(schema["allOf"][0])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = schema[key]
            nullable = any(option.get("type") == "null" for option in options)
            names = " or ".join(type_html(o) for o in options if o.get("type") != "null")
            return f"{names} or null" if nullable else names
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(escape(k) for k in kind)
    if kind == "array":
        return f"list of {type_html(schema.get('items'))}"
    words = escape(kind or "object")
    if schema.get("format"):
        words += f" ({escape(schema['format'])})"
    if "enum" in schema:
        words += ": " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    return words


def _limits(schema: Mapping[str, Any]) -> str:
    parts = []
    for key, words in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤"),
                       ("minItems", "items ≥"), ("maxItems", "items ≤")):
        if key in schema:
            bound = schema[key]
            parts.append(f"{words} {int(bound) if isinstance(bound, float) and bound.is_integer() else bound}")
    if "pattern" in schema:
        parts.append(f"pattern <code>{escape(schema['pattern'])}</code>")
    if "default" in schema and schema["default"] is not None:
        parts.append(f"default <code>{escape(str(schema['default']))}</code>")
    return f'<span class="limits">{"; ".join(parts)}</span>' if parts else ""


def _fields_table(schema: Mapping[str, Any], caption: str) -> str:
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in sorted(schema.get("properties", {}).items()):
        flag = '<span class="req">required</span>' if name in required else ""
        rows.append(
            f'<tr id="{escape(caption)}-{escape(name)}"><th scope="row"><code>{escape(name)}</code>{flag}</th>'
            f"<td>{type_html(prop)}</td><td>{text(prop.get('description', ''))}{_limits(prop)}</td></tr>"
        )
    if not rows:
        return ""
    return ('<div class="table-wrap"><table class="data-table fields"><thead><tr><th scope="col">Field</th>'
            '<th scope="col">Type</th><th scope="col">Meaning</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _operation(path: str, method: str, op: Mapping[str, Any]) -> str:
    anchor = f"op-{method}-{re.sub(r'[^a-z0-9]+', '-', path.lower()).strip('-')}"
    parts = [f'<section class="card op" id="{anchor}" aria-labelledby="{anchor}-h">',
             f'<h3 id="{anchor}-h"><span class="method {method}">{method.upper()}</span> <code>{escape(path)}</code></h3>',
             f'<p class="summary">{text(op.get("summary", ""))}</p>']
    if op.get("description"):
        parts.append(f"<p>{text(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><th scope=\"row\"><code>{escape(p['name'])}</code>"
            f"{'<span class=req>required</span>' if p.get('required') else ''}</th><td>{escape(p.get('in', ''))}</td>"
            f"<td>{type_html(p.get('schema'))}</td><td>{text(p.get('description', ''))}{_limits(p.get('schema') or {})}</td></tr>"
            for p in params
        )
        parts.append('<h4>Parameters</h4><div class="table-wrap"><table class="data-table fields"><thead><tr>'
                     '<th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th>'
                     f'<th scope="col">Meaning</th></tr></thead><tbody>{rows}</tbody></table></div>')
    body = op.get("requestBody")
    if body:
        media, spec = next(iter(body.get("content", {}).items()), ("", {}))
        schema = spec.get("schema") or {}
        words = body.get("description") or schema.get("description", "")
        parts.append(f"<h4>Request body</h4><p>{escape(media)}: {type_html(schema)}. {text(words)}</p>")
    responses = op.get("responses", {})
    if responses:
        rows = []
        for status, response in sorted(responses.items()):
            content = response.get("content", {})
            kinds = "; ".join(f"{escape(media)}: {type_html(spec.get('schema'))}" for media, spec in content.items())
            rows.append(f"<tr><th scope=\"row\">{escape(status)}</th><td>{text(response.get('description', ''))}</td>"
                        f"<td>{kinds}</td></tr>")
        parts.append('<h4>Responses</h4><div class="table-wrap"><table class="data-table fields"><thead><tr>'
                     '<th scope="col">Status</th><th scope="col">Meaning</th><th scope="col">Body</th></tr></thead>'
                     f"<tbody>{''.join(rows)}</tbody></table></div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_reference(schema: Mapping[str, Any], openapi_json_url: str = "/schema/openapi.json") -> str:
    """The whole OpenAPI document as one readable HTML page: operations by tag, then every schema and its fields."""
    info = schema.get("info", {})
    by_tag: dict[str, list[tuple[str, str, Mapping[str, Any]]]] = {}
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            if method in HTTP_METHODS:
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op))
    schemas = schema.get("components", {}).get("schemas", {})
    toc = "".join(
        f'<li><strong>{escape(tag)}</strong><ul>'
        + "".join(f'<li><a href="#op-{m}-{re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-")}">'
                  f'<span class="method {m}">{m.upper()}</span> {escape(p)}</a></li>' for p, m, _ in ops)
        + "</ul></li>"
        for tag, ops in by_tag.items()
    )
    sections = "".join(
        f'<h2 id="tag-{escape(tag)}">{escape(tag.capitalize())}</h2>' + "".join(_operation(p, m, op) for p, m, op in ops)
        for tag, ops in by_tag.items()
    )
    schema_sections = "".join(
        f'<section class="card schema" id="schema-{escape(name)}" aria-labelledby="schema-{escape(name)}-h">'
        f'<h3 id="schema-{escape(name)}-h">{escape(name)}</h3>'
        f"<p>{text(spec.get('description', ''))}</p>{_fields_table(spec, name)}</section>"
        for name, spec in sorted(schemas.items())
    )
    body = (
        f'<div class="intro"><h1>{escape(info.get("title", "API"))} API reference</h1>'
        f'<p>{text(info.get("description", ""))}</p>'
        f'<p class="meta">Version {escape(info.get("version", ""))} · the same document as '
        f'<a href="{escape(openapi_json_url)}">OpenAPI JSON</a> · this page needs no network and no script.</p></div>'
        f'<div class="doc-layout"><nav class="toc" aria-label="Endpoints"><ul>{toc}'
        f'<li><a href="#schemas"><strong>Schemas</strong></a></li></ul></nav>'
        f'<div class="doc-body">{sections}<h2 id="schemas">Schemas</h2>{schema_sections}</div></div>'
    )
    return page(f"{info.get('title', 'API')} API reference", body, current="/schema")


# ---------------------------------------------------------------- the price changes


def usd(value: Decimal | None) -> str:
    """USD for people: two decimals, more below a cent ($0.075), thousands separated; a dash for none."""
    if value is None:
        return "—"
    places = 2
    while places < 12 and value != 0 and abs(value) < Decimal(1).scaleb(2 - places):
        places += 1
    shown = f"{abs(value):,.{places}f}"
    if places > 2:
        shown = shown.rstrip("0")
        if len(shown.split(".")[1]) < 2:
            shown = f"{abs(value):,.2f}"
    return f"{'−' if value < 0 else ''}${shown}"


_ACTION_WORDS = {"added": "New price", "changed": "Changed", "delisted": "Delisted", "relisted": "Relisted",
                 "withdrawn": "Withdrawn (never took effect)"}


def _change_row(change: Any) -> str:
    old, new = change.old_usd_per_mtok, change.new_usd_per_mtok
    if old is not None and new is not None and old != 0:
        delta = (new - old) / old * 100
        trend = f' <span class="saving {"down" if delta > 0 else "up"}">{"+" if delta > 0 else ""}{delta:.1f}%</span>'
    else:
        trend = ""
    level = f" (prompts over {change.min_prompt_tokens:,} tokens)" if change.min_prompt_tokens else ""
    return (
        f'<tr data-action="{escape(change.action)}"><td>{escape(_ACTION_WORDS.get(change.action, change.action))}</td>'
        f'<td><span class="model-name">{escape(change.model)}</span>'
        f'<span class="model-id">{escape(change.provider)}/{escape(change.model)}</span></td>'
        f"<td>{escape(change.tier)} {escape(change.kind.replace('_', ' '))}{escape(level)}</td>"
        f'<td class="num">{usd(old)}</td><td class="num">{usd(new)}{trend}</td>'
        f"<td>{change.valid_from:%d %b %Y}</td>"
        f'<td><a href="{escape(change.url)}" rel="noopener">{escape(change.source)}</a></td></tr>'
    )


def render_changes(changesets: Iterable[ChangesetOut], *, filters: Mapping[str, str], catalog_version: int,
                   older_url: str | None, json_url: str, atom_url: str) -> str:
    """Applied changesets as cards of changes, newest first, with links to the same feed as JSON and Atom."""
    cards = []
    for cs in changesets:
        rows = "".join(_change_row(c) for c in cs.changes)
        cards.append(
            f'<section class="card changeset" id="changeset-{cs.id}" data-changeset="{cs.id}">'
            f'<div class="card-head"><h2>Version {cs.id}</h2><p class="card-sub">{cs.created_at:%d %b %Y %H:%M} UTC · '
            f"{escape(cs.source)}{f' · {escape(cs.reason)}' if cs.reason else ''}</p></div>"
            '<div class="table-wrap"><table class="data-table changes"><thead><tr><th scope="col">Change</th>'
            '<th scope="col">Model</th><th scope="col">Tier and kind</th><th scope="col" class="num">Was (per 1M)</th>'
            '<th scope="col" class="num">Now (per 1M)</th><th scope="col">From</th><th scope="col">Source</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></div></section>"
        )
    shown = ", ".join(f"{k} {v}" for k, v in filters.items())
    empty = '<p class="card">No price changes match.</p>'
    form = (
        '<form class="filters card" method="get" action="/changes">'
        f'<label>Provider <input type="text" name="provider" value="{escape(filters.get("provider", ""))}" placeholder="openai"></label>'
        f'<label>Model <input type="text" name="model" value="{escape(filters.get("model", ""))}" placeholder="gpt-4o"></label>'
        f'<label>Since <input name="since" type="date" value="{escape(filters.get("since", ""))}"></label>'
        '<button type="submit">Show</button></form>'
    )
    body = (
        '<div class="intro"><h1>Price changes</h1>'
        f"<p>Every price change ratecard has recorded, newest first{f' ({escape(shown)})' if shown else ''}. Prices are "
        f"US dollars per 1M tokens. Catalog version {catalog_version}.</p>"
        f'<p class="meta">The same feed as <a href="{escape(json_url)}">JSON</a> and '
        f'<a href="{escape(atom_url)}">Atom</a>.</p></div>'
        f"{form}<div class=\"changesets\">{''.join(cards) or empty}</div>"
        + (f'<p class="pager"><a href="{escape(older_url)}">Older changes</a></p>' if older_url else "")
    )
    head = f'<link rel="alternate" type="application/atom+xml" title="ratecard price changes" href="{escape(atom_url)}">\n'
    return page("Price changes", body, head=head, current="/changes")
