"""/docs: a plain HTML page rendered from the OpenAPI document.

No JavaScript and no assets from a CDN (the hub runs on closed networks, and Swagger
UI's assets are not packaged on PyPI): every operation with its parameters, body and
answers, and the schemas, from the same document ``/openapi.json`` serves.
"""

from __future__ import annotations

import html
import json
from typing import Any

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
  padding: 0 1rem; line-height: 1.45; color: #1b1b1b; }}
code, pre {{ background: #f3f3f3; padding: 0 .2em; }}
pre {{ padding: .6em; overflow-x: auto; }}
section {{ border-top: 1px solid #ccc; padding: .4rem 0; }}
.method {{ font-weight: bold; text-transform: uppercase; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .2em .6em; text-align: left;
  vertical-align: top; border-bottom: 1px solid #eee; }}
</style></head><body>
<h1>{title} <small>{version}</small></h1>
<p>{description}</p>
<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI {openapi}).
Authentication: <code>Authorization: Bearer hub_…</code> on every endpoint not under
<code>/public</code> or <code>/reference</code>.</p>
<nav><h2>Operations</h2><ul>{index}</ul></nav>
{operations}
<h2 id="schemas">Schemas</h2>
{schemas}
</body></html>
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    if schema.get("type") == "array" and "items" in schema:
        return "list of " + _ref_name(schema["items"])
    if "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema["anyOf"])
    return _e(schema.get("type", "object"))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    anchor = _e(op.get("operationId", f"{method}{path}"))
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
        f"<td>{_ref_name(p.get('schema', {}))}</td>"
        f"<td>{'required' if p.get('required') else ''}</td></tr>"
        for p in op.get("parameters", [])
    )
    body = ""
    content = op.get("requestBody", {}).get("content", {})
    if content:
        media, spec = next(iter(content.items()))
        body = f"<p>Body ({_e(media)}): {_ref_name(spec.get('schema', {}))}</p>"
    answers = "".join(
        f"<li><code>{_e(code)}</code> {_e(spec.get('description', ''))}</li>"
        for code, spec in op.get("responses", {}).items()
    )
    return (
        f'<section id="{anchor}"><h3><span class="method">{_e(method)}</span> '
        f"<code>{_e(path)}</code></h3><p>{_e(op.get('summary', ''))}</p>"
        f"<p>{_e(op.get('description', ''))}</p>"
        + (
            f"<table><tr><th>Parameter</th><th>In</th><th>Type</th><th></th></tr>{rows}</table>"
            if rows
            else ""
        )
        + body
        + f"<ul>{answers}</ul></section>"
    )


def render_docs(document: dict[str, Any]) -> str:
    info = document.get("info", {})
    index, operations = [], []
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            anchor = _e(op.get("operationId", f"{method}{path}"))
            index.append(
                f'<li><a href="#{anchor}"><span class="method">{_e(method)}</span> '
                f"{_e(path)}</a> {_e(op.get('summary', ''))}</li>"
            )
            operations.append(_operation(path, method, op))
    schemas = "".join(
        f'<section id="schema-{_e(name)}"><h3>{_e(name)}</h3>'
        f"<pre>{_e(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></section>"
        for name, schema in document.get("components", {}).get("schemas", {}).items()
    )
    return PAGE.format(
        title=_e(info.get("title", "API")),
        version=_e(info.get("version", "")),
        description=_e(info.get("description", "")),
        openapi=_e(document.get("openapi", "")),
        index="".join(index),
        operations="".join(operations),
        schemas=schemas,
    )
