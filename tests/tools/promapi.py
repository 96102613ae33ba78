#!/usr/bin/env python3
"""Prometheus HTTP API and Grafana dashboard helpers for the rtun integration tests.

Every subcommand prints KEY=VALUE words or one result a line so that a shell can pick
them apart, and exits non-zero with a message on stderr when something is wrong.
Standard library only.

    targets  --api URL                  one line per active target: SCRAPEURL HEALTH
    query    --api URL EXPR             run EXPR through /api/v1/query; one line per
                                        sample: {LABELS} VALUE (labels sorted, __name__
                                        left out); exit 1 on an error status, 2 when the
                                        result is empty and --nonempty is given
    check    --api URL [--nonempty]     run every WHERE<TAB>EXPR line of stdin (as exprs
                                        prints them) through /api/v1/query; prints each
                                        one that fails (an error, or no data with
                                        --nonempty) and exits 1 if any did
    exprs    DASHBOARD [--var N=V ...]  every PromQL expression of a Grafana dashboard
                                        (panel targets, and the queries of label_values()
                                        template variables), dashboard variables
                                        replaced (by V, or '.*'), one a line:
                                        WHERE<TAB>EXPR
    names    EXPR                       the metric names EXPR selects, one a line
    exposed  FILE...                    the metric names with a # TYPE line in Prometheus
                                        text files, one a line
"""

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

PROG = "promapi"

# Words of PromQL that are neither functions nor metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "atan2", "inf", "nan", "start", "end"}
# Aggregation operators: `sum by (x) (...)` puts a keyword between them and their "(".
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile"}
# Keywords followed by a parenthesised list of label names.
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Grafana's built-in interval variables, replaced by a duration PromQL accepts.
BUILTIN_VARS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
                "__range_s": "3600", "__interval_ms": "15000"}
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
NUMBER = re.compile(r"(0x[0-9a-fA-F]+|[0-9][0-9a-zA-Z_.]*)")


def die(msg, status=1):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.exit(status)


def api_get(base, path, params=None):
    url = base.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        # Prometheus answers a bad query with 400 and a JSON body naming the error.
        try:
            return json.load(e)
        except ValueError:
            die("%s: HTTP %d" % (url, e.code))
    except (OSError, ValueError) as e:
        die("%s: %s" % (url, e))


def cmd_targets(args):
    res = api_get(args.api, "/api/v1/targets", {"state": "active"})
    if res.get("status") != "success":
        die("targets: %s" % res.get("error", res))
    for t in res["data"]["activeTargets"]:
        print("%s %s" % (t["scrapeUrl"], t["health"]))


def labels_text(metric):
    return "{" + ",".join('%s="%s"' % (k, v) for k, v in sorted(metric.items())
                          if k != "__name__") + "}"


def run_query(api, expr):
    """(samples, None) for expr now, or (None, the error)."""
    res = api_get(api, "/api/v1/query", {"query": expr})
    if res.get("status") != "success":
        return None, "%s: %s" % (res.get("errorType", "?"), res.get("error", res))
    return res["data"], None


def cmd_query(args):
    data, err = run_query(args.api, args.expr)
    if err:
        die("query %r: %s" % (args.expr, err))
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        print("{} %s" % result[1])
        return
    if kind == "matrix":
        result = [{"metric": s["metric"], "value": s["values"][-1]} for s in result]
    if not result and args.nonempty:
        die("query %r: no data" % args.expr, 2)
    for s in result:
        print("%s %s" % (labels_text(s["metric"]), s["value"][1]))


def cmd_check(args):
    bad = n = 0
    for line in sys.stdin:
        where, _, expr = line.rstrip("\n").partition("\t")
        if not expr:
            continue
        n += 1
        data, err = run_query(args.api, expr)
        if err is None and args.nonempty and not data["result"]:
            err = "no data"
        if err:
            bad += 1
            print("%s: %s: %s" % (where, err, expr))
    print("checked=%d failed=%d" % (n, bad))
    sys.exit(1 if bad or n == 0 else 0)


def substitute(expr, values):
    """expr with $name, ${name} and ${name:format} replaced (unknown names by '.*')."""
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in BUILTIN_VARS:
            return BUILTIN_VARS[name]
        return values.get(name, ".*")
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)", repl, expr)


def label_values_query(q):
    """The selector of label_values(SELECTOR, LABEL), or None for other variable queries."""
    if isinstance(q, dict):
        q = q.get("query", "")
    m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q or "", re.S)
    return m.group(1) if m else None


def panels_of(panels):
    for p in panels:
        yield p
        yield from panels_of(p.get("panels", []))


def cmd_exprs(args):
    values = {}
    for v in args.var:
        name, _, val = v.partition("=")
        values[name] = val
    with open(args.dashboard) as f:
        dash = json.load(f)
    n = 0
    for p in panels_of(dash.get("panels", [])):
        for t in p.get("targets", []):
            if t.get("expr"):
                print("panel %r %s\t%s" % (p.get("title", "?"), t.get("refId", "?"),
                                           substitute(t["expr"], values)))
                n += 1
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = label_values_query(v.get("query"))
        if q is None:
            die("variable %s: only label_values(SELECTOR, LABEL) queries are checked"
                % v.get("name"))
        print("variable %s\t%s" % (v.get("name"), substitute(q, values)))
        n += 1
    if n == 0:
        die("%s has no expressions" % args.dashboard)


def skip_group(expr, i, open_c, close_c):
    """The index after the group that opens at expr[i], strings inside skipped."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = skip_string(expr, i)
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    die("unbalanced %s in %r" % (open_c, expr))


def skip_string(expr, i):
    q = expr[i]
    i += 1
    while i < len(expr) and expr[i] != q:
        i += 2 if expr[i] == "\\" and q != "`" else 1
    return i + 1


def name_matcher(matchers):
    """The names a {__name__=~"a|b"} matcher lists; only plain alternatives are checked."""
    m = re.search(r'__name__\s*=~?\s*"([^"]*)"', matchers)
    if m is None:
        return []
    alts = m.group(1).split("|")
    for a in alts:
        if not IDENT.fullmatch(a):
            die("cannot check __name__ matcher %r: only a|b|c of plain names" % m.group(1))
    return alts


def add_names(names, new):
    for n in new:
        if n not in names:
            names.append(n)


def metric_names(expr):
    """The metric names a PromQL expression selects (identifiers that are not
    functions, keywords, label names, durations or numbers)."""
    names, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = skip_string(expr, i)
        elif c == "{":
            j = skip_group(expr, i, "{", "}")
            add_names(names, name_matcher(expr[i:j]))
            i = j
        elif c == "[":
            i = skip_group(expr, i, "[", "]")
        elif c.isdigit() or (c == "." and expr[i + 1:i + 2].isdigit()):
            i = NUMBER.match(expr, i if c != "." else i + 1).end()
        elif IDENT.match(expr, i):
            word = IDENT.match(expr, i).group(0)
            i += len(word)
            j = i
            while j < len(expr) and expr[j].isspace():
                j += 1
            follows_paren = j < len(expr) and expr[j] == "("
            if word.lower() in LABEL_LISTS and follows_paren:
                i = skip_group(expr, j, "(", ")")
            elif word.lower() in KEYWORDS or word in AGGREGATIONS or follows_paren:
                continue
            else:
                add_names(names, [word])
        else:
            i += 1
    return names


def cmd_names(args):
    for n in metric_names(args.expr):
        print(n)


def cmd_exposed(args):
    seen = set()
    for path in args.files:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 4 and w[0] == "#" and w[1] == "TYPE" and w[2] not in seen:
                    seen.add(w[2])
                    print(w[2])


def main():
    p = argparse.ArgumentParser(prog="promapi.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("targets")
    s.add_argument("--api", required=True)
    s.set_defaults(fn=cmd_targets)
    s = sub.add_parser("query")
    s.add_argument("--api", required=True)
    s.add_argument("--nonempty", action="store_true")
    s.add_argument("expr")
    s.set_defaults(fn=cmd_query)
    s = sub.add_parser("check")
    s.add_argument("--api", required=True)
    s.add_argument("--nonempty", action="store_true")
    s.set_defaults(fn=cmd_check)
    s = sub.add_parser("exprs")
    s.add_argument("dashboard")
    s.add_argument("--var", action="append", default=[])
    s.set_defaults(fn=cmd_exprs)
    s = sub.add_parser("names")
    s.add_argument("expr")
    s.set_defaults(fn=cmd_names)
    s = sub.add_parser("exposed")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=cmd_exposed)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
