#!/usr/bin/env python3
"""The demo's report: throughput from the dataplane summary, alerts by class, and detection
measured against sluice-synth's ground truth: per request (an attack request is detected when
the dataplane raised an alert on its connection) and per account (the correlator's account
records: an account is flagged when any of its records carries an action other than pass,
since actions lapse once a campaign goes quiet)."""
import argparse
import collections
import json


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--eve", required=True)
    ap.add_argument("--summary", required=True)
    ap.add_argument("--pktgen", help="live run: sluice-pktgen's JSON report")
    ap.add_argument("--blocked", help="live run: the account blocked from the CLI mid-run")
    args = ap.parse_args()
    a = args
    truth, eve = load(a.truth), load(a.eve)
    with open(a.summary) as f:
        s = json.load(f)
    accounts = {r["account"]: r for r in truth if r["type"] == "account"}
    reqs = [r for r in truth if r["type"] == "request"]
    e = s["engine"]
    secs = s["elapsed_s"]
    if "input" in s:
        print(f"sluice demo: {len(accounts)} accounts, {len(reqs)} requests, "
              f"{s['input']['packets']} packets ({s['input']['bytes'] / 1e6:.1f} MB)")
        print(f"  throughput: {s['mpps']:.3f} Mpps, {e['bytes'] * 8 / secs / 1e9 if secs else 0:.2f} Gbit/s "
              f"over {secs:.3f} s with {s['workers']} worker(s) (offline; includes start-up effects)")
    else:
        print(f"sluice live demo: {len(accounts)} accounts, {len(reqs)} requests; dataplane inline on memif, "
              f"{s['workers']} worker(s)")
        if a.pktgen:
            with open(a.pktgen) as f:
                run = json.load(f)["run"]
            print(f"  sluice-pktgen: offered {run['offered_pps']:.0f} pps, sent {run['sent']}, received "
                  f"{run['received']} (the difference: packets of flows the dataplane stopped)")
        print(f"  dataplane: {e['packets']} packets, {e['forwarded']} forwarded, {e['dropped_verdict']} "
              f"dropped by verdicts, {e['rst_injected']} RSTs injected")
        en = e.get("accounts", {}).get("enforcement", {})
        h = e["http"]
        print(f"  enforcement ({en.get('mode', '-')}): {h.get('enforced_block', 0)} requests blocked, "
              f"{h.get('enforced_rate_limit', 0)} over rate limits; decision to every worker "
              f"p50 {en.get('delay_us', {}).get('p50', '-')} us, p99 {en.get('delay_us', {}).get('p99', '-')} us")
        if a.blocked:
            stopped = [r for r in eve if r["event_type"] == "http" and r.get("account", {}).get("id") == a.blocked
                       and "enforcement" in r.get("sluice", {})]
            total = sum(1 for r in reqs if r["identity"] == a.blocked)
            print(f"  blocked from the CLI mid-run: account {a.blocked}: {len(stopped)} of its {total} requests "
                  f"stopped after the block")
    by_proto = collections.Counter(r["http"].get("protocol", "?") for r in eve if r["event_type"] == "http")
    h2 = e.get("http2", {})
    print(f"  tls: {e['tls']['decrypt_sessions']} sessions decrypted of {e['tls']['sessions']}; "
          f"http: {e['http'].get('transactions', e['http']['requests'])} transactions "
          f"({', '.join(f'{n} {p}' for p, n in sorted(by_proto.items()))}), "
          f"{e['http']['llm_requests']} LLM, {e['http']['usage_reports']} usage reports; "
          f"HTTP/2: {h2.get('connections', 0)} connections, {h2.get('streams', 0)} streams")
    alerts = [r for r in eve if r["event_type"] == "alert"]
    by_cat = collections.Counter(r["alert"]["category"] for r in alerts)
    print(f"  alerts: {len(alerts)}")
    for cat, n in by_cat.most_common():
        print(f"    {n:5d}  {cat}")
    flagged = collections.defaultdict(set)
    for r in alerts:
        flagged[(r["src_ip"], r["src_port"])].add(r["alert"]["signature_id"])
    tp = fp = fn = tn = 0
    acct_hit = collections.defaultdict(bool)
    for r in reqs:
        hit = (r["flow"]["src_ip"], r["flow"]["src_port"]) in flagged
        attack = accounts[r["account"]]["attack"]
        acct_hit[r["account"]] |= hit
        tp += attack and hit
        fp += (not attack) and hit
        fn += attack and not hit
        tn += (not attack) and not hit
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    print(f"  requests: precision {prec:.3f}, recall {rec:.3f} (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    by_class = collections.defaultdict(lambda: [0, 0])
    for acc, r in accounts.items():
        by_class[r["class"]][0] += 1
        by_class[r["class"]][1] += acct_hit[acc]
    print("  accounts with an alerting request, by class:")
    for cls, (n, hit) in sorted(by_class.items()):
        print(f"    {cls:11s} {hit:4d} of {n:4d}")
    # The correlator's verdicts: the strongest action each account was given while active.
    ident_class = {}
    for r in reqs:
        ident_class[r["identity"]] = r["class"]
    rank = {"pass": 0, "alert": 1, "tag": 2, "rate-limit": 3, "drop": 4, "reject": 5, "block": 6}
    flagged = {}
    for r in eve:
        if r["event_type"] != "account" or r["account"]["action"] == "pass":
            continue
        a = r["account"]
        old = flagged.get(a["id"])
        if old is None or rank[a["action"]] >= rank[old["action"]]:
            flagged[a["id"]] = a
    attack_classes = ("hydra", "reseller", "farm")
    attack_ids = {i for i, c in ident_class.items() if c in attack_classes}
    tp = len(attack_ids & set(flagged))
    fp = len(set(flagged) - attack_ids)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / len(attack_ids) if attack_ids else 1.0
    print(f"  accounts flagged by the policy: {len(flagged)} of {len(ident_class)} "
          f"(precision {prec:.3f}, recall {rec:.3f} over {len(attack_ids)} attack identities)")
    per = collections.Counter(ident_class.values())
    hit = collections.Counter(ident_class[i] for i in flagged if i in ident_class)
    recalls = ", ".join(f"{c} {hit[c]}/{per[c]}" for c in attack_classes if per[c])
    benign = sum(n for c, n in per.items() if c not in attack_classes)
    benign_fp = sum(n for c, n in hit.items() if c not in attack_classes)
    print(f"  per class: {recalls}; benign false positives {benign_fp}/{benign} "
          f"({100.0 * benign_fp / benign if benign else 0:.2f}%)")
    if "input" not in s:
        # Live, enforcement cuts flows: an account whose requests were stopped (its cluster,
        # prefix or JA4 blocked) may never accumulate signals of its own.
        stopped = {r["account"]["id"] for r in eve
                   if r["event_type"] == "http" and "enforcement" in r.get("sluice", {}) and "account" in r}
        stopped.discard(args.blocked)
        caught = set(flagged) | stopped
        c_hit = collections.Counter(ident_class[i] for i in caught if i in ident_class)
        c_fp = sum(n for c, n in c_hit.items() if c not in attack_classes)
        print("  caught (flagged, or stopped by enforcement): " +
              ", ".join(f"{c} {c_hit[c]}/{per[c]}" for c in attack_classes if per[c]) +
              f"; benign {c_fp}/{benign} (the CLI-blocked account aside)")
    actions = collections.Counter((ident_class.get(i, "?"), a["action"]) for i, a in flagged.items())
    for (cls, action), n in sorted(actions.items()):
        print(f"    {cls:11s} {action:10s} {n:4d}")
    for i, a in list(flagged.items())[:5]:
        print(f"    e.g. {a['hint']} ({i}): {a['action']}, score {a['score']:.0f}: "
              f"{'; '.join(a['reasons'])}")


if __name__ == "__main__":
    main()
