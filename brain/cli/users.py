"""`brain users add-factory|remove|list`: Kafka principals and ACLs (brain.ops.kafka_users, docs/security.md)."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Manage who may write to Kafka when kafka.security is sasl_ssl (docs/security.md).

  add-factory SITE  a SCRAM-SHA-512 login site-<SITE> for a site of the asset registry
                    (conf/assets.yaml), allowed to WRITE its own topic family
                    <industry>.site.<SITE>.* and nothing else (no read, no topic creation);
                    creates those topics. Idempotent. The password is generated into
                    <paths.state>/kafka/secrets/site-<SITE>.password (mode 600); it is not printed:
                    hand that file to the site's gateway over a channel you trust.
  remove SITE       delete the site's login, its ACLs and its password file (its topics and
                    their records stay)
  list              every principal with a login or an ACL, and its ACLs

The broker must run with kafka.security sasl_ssl (`brain kafka start`); these commands log in
as the admin principal (kafka.sasl.admin_user)."""

EPILOG = """\
examples:
  BRAIN__KAFKA__SECURITY=sasl_ssl brain kafka start
  BRAIN__KAFKA__SECURITY=sasl_ssl brain users add-factory rm-baotou
  BRAIN__KAFKA__SECURITY=sasl_ssl brain users list --json
  BRAIN__KAFKA__SECURITY=sasl_ssl brain users remove rm-baotou"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = p.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = sub.add_parser("add-factory", help="a write-only login for one site of the asset registry")
    add.add_argument("site", help="site id from conf/assets.yaml, e.g. rm-baotou")
    rm = sub.add_parser("remove", help="delete a site's login and ACLs")
    rm.add_argument("site", help="site id")
    ls = sub.add_parser("list", help="principals and their ACLs")
    for q in (add, rm, ls):
        q.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args, cfg) -> int:
    from brain.ops import kafka_users

    if args.users_action == "add-factory":
        f = kafka_users.add_factory(cfg, args.site)
        if args.json:
            print(json.dumps(f.as_dict()))
        else:
            print(f"{f.user}: may write {f.topic_prefix}* ({len(f.topics)} topics) of industry {f.industry}; "
                  f"password in {f.password_file}")
        return 0
    if args.users_action == "remove":
        r = kafka_users.remove_factory(cfg, args.site)
        if args.json:
            print(json.dumps(r))
        else:
            print(f"{r['user']}: login {'deleted' if r['login_deleted'] else 'was not there'}, "
                  f"{r['acls_deleted']} ACLs deleted")
        return 0
    rows = kafka_users.list_principals(cfg)
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        print(f"{r['user']:<28} {r['kind']:<20} {'login' if r['login'] else 'no login'}")
        for a in r["acls"]:
            print(f"    {a}")
    if not rows:
        print("no principals", file=sys.stderr)
    return 0
