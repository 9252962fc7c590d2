"""The reference deployment's database: a consumer-safety app (recalls of baby products).

`users` ~15k, `recalls` ~460k, `subscriptions` ~8k, `family_members` ~28k rows at scale 1,
foreign keys, check constraints and 47 indexes. Rows are generated server-side (one
INSERT ... SELECT per table, indexes built afterwards), so a full load takes seconds.
Descriptions are sentences built from word lists: pages compress roughly like real text.
"""

from __future__ import annotations

from typing import Any

import psycopg

TABLES = ("users", "recalls", "subscriptions", "family_members")

SCHEMA = """
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    country char(2) NOT NULL,
    locale text NOT NULL,
    plan text NOT NULL CHECK (plan IN ('free', 'family', 'pro')),
    marketing_opt_in boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    last_login_at timestamptz
);
CREATE TABLE recalls (
    id bigint PRIMARY KEY,
    recall_number text NOT NULL,
    product_name text NOT NULL,
    brand text NOT NULL,
    category text NOT NULL,
    hazard text NOT NULL,
    description text NOT NULL,
    remedy text NOT NULL,
    severity smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    country char(2) NOT NULL,
    units_affected integer NOT NULL CHECK (units_affected >= 0),
    source text NOT NULL,
    recall_date date NOT NULL,
    published_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    created_by bigint REFERENCES users (id) ON DELETE SET NULL
);
CREATE TABLE subscriptions (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category text NOT NULL,
    brand text,
    country char(2) NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'push', 'sms')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);
CREATE TABLE family_members (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    relation text NOT NULL CHECK (relation IN ('child', 'partner', 'grandparent', 'other')),
    birth_date date NOT NULL,
    allergies text,
    created_at timestamptz NOT NULL
);
"""

WORDS = {
    "category": [
        "cribs",
        "strollers",
        "car seats",
        "high chairs",
        "toys",
        "baby monitors",
        "bottles",
        "pacifiers",
        "sleepwear",
        "bath seats",
        "play yards",
        "carriers",
    ],
    "hazard": [
        "choking",
        "suffocation",
        "fall",
        "entrapment",
        "burn",
        "fire",
        "laceration",
        "strangulation",
        "tip-over",
        "lead paint",
        "battery ingestion",
        "magnet ingestion",
    ],
    "part": [
        "strap",
        "buckle",
        "latch",
        "hinge",
        "wheel",
        "battery cover",
        "seam",
        "rail",
        "canopy",
        "harness",
        "bolt",
        "valve",
        "zipper",
        "button",
    ],
    "fail": [
        "can detach",
        "can break",
        "can loosen",
        "may overheat",
        "can crack",
        "may fail to lock",
        "can separate",
        "may collapse",
    ],
    "who": ["infants", "toddlers", "young children", "caregivers", "babies"],
    "remedy": ["refund", "repair kit", "replacement", "return to retailer", "free inspection"],
    "source": ["CPSC", "Health Canada", "EU Safety Gate", "ACCC", "manufacturer"],
    "country": ["US", "CA", "GB", "DE", "FR", "AU", "NL", "SE", "ES", "IT"],
}


def _arr(name: str) -> str:
    items = ", ".join("'" + w.replace("'", "''") + "'" for w in WORDS[name])
    return f"(ARRAY[{items}])"


def _pick(name: str, salt: str) -> str:
    n = len(WORDS[name])
    return f"{_arr(name)}[1 + ((hashint8(g * 7919 + {salt}) & 2147483647) % {n})]"


LOAD = {
    "users": """
INSERT INTO users
SELECT g, 'user' || g || '@example.' || lower({country}),
       initcap(substr(md5(g::text), 1, 6)) || ' ' || initcap(substr(md5((g * 3)::text), 1, 8)),
       {country}, lower({country}) || '-' || {country},
       (ARRAY['free', 'free', 'family', 'pro'])[1 + (hashint8(g) & 2147483647) % 4],
       (hashint8(g * 5) & 2147483647) % 3 = 0,
       now() - make_interval(days => ((hashint8(g * 11) & 2147483647) % 1400)::int),
       now() - make_interval(hours => ((hashint8(g * 13) & 2147483647) % 2000)::int)
FROM generate_series(1::bigint, %(n)s) g""",
    "recalls": """
INSERT INTO recalls
SELECT g, 'R-' || to_char(g, 'FM0000000'),
       initcap({cat_one}) || ' model ' || (g % 997),
       'Brand' || ((hashint8(g * 17) & 2147483647) % 400),
       {category}, {hazard},
       'The ' || {part} || ' on the ' || {cat_one} || ' ' || {fail} || ', posing a '
         || {hazard} || ' hazard to ' || {who} || '. ' || ((hashint8(g * 19) & 2147483647) % 90 + 1)
         || ' incidents were reported, including ' || ((hashint8(g * 23) & 2147483647) % 12)
         || ' injuries. Consumers should stop using the product and contact the firm for a '
         || {remedy} || '. Sold at ' || {country} || ' retailers from '
         || to_char(date '2015-01-01' + ((hashint8(g * 29) & 2147483647) % 3000)::int, 'FMMonth YYYY') || '.',
       {remedy}, 1 + (hashint8(g * 31) & 2147483647) % 4, {country},
       (hashint8(g * 37) & 2147483647) % 250000, {source},
       current_date - ((hashint8(g * 41) & 2147483647) % 3650)::int,
       now() - make_interval(hours => ((hashint8(g * 43) & 2147483647) % 87600)::int),
       now() - make_interval(mins => ((hashint8(g * 47) & 2147483647) % 2880)::int),
       CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + (hashint8(g * 53) & 2147483647) % %(users)s END
FROM generate_series(1::bigint, %(n)s) g""",
    "subscriptions": """
INSERT INTO subscriptions
SELECT g, 1 + (hashint8(g * 59) & 2147483647) % %(users)s, {category},
       CASE WHEN g % 3 = 0 THEN 'Brand' || ((hashint8(g * 61) & 2147483647) % 400) END, {country},
       (ARRAY['email', 'push', 'sms'])[1 + (hashint8(g * 67) & 2147483647) % 3], g % 9 <> 0,
       now() - make_interval(days => ((hashint8(g * 71) & 2147483647) % 900)::int)
FROM generate_series(1::bigint, %(n)s) g""",
    "family_members": """
INSERT INTO family_members
SELECT g, 1 + (hashint8(g * 73) & 2147483647) % %(users)s, initcap(substr(md5((g * 7)::text), 1, 7)),
       (ARRAY['child', 'child', 'child', 'partner', 'grandparent', 'other'])[1 + (hashint8(g * 79) & 2147483647) % 6],
       current_date - ((hashint8(g * 83) & 2147483647) % 6000)::int,
       CASE WHEN g % 7 = 0 THEN 'peanuts' WHEN g % 11 = 0 THEN 'latex' END,
       now() - make_interval(days => ((hashint8(g * 89) & 2147483647) % 900)::int)
FROM generate_series(1::bigint, %(n)s) g""",
}

INDEXES = [
    # users: 9 (with the primary key)
    "CREATE UNIQUE INDEX users_email_key ON users (email)",
    "CREATE INDEX users_lower_email_idx ON users (lower(email))",
    "CREATE INDEX users_country_idx ON users (country)",
    "CREATE INDEX users_plan_idx ON users (plan)",
    "CREATE INDEX users_created_at_idx ON users (created_at)",
    "CREATE INDEX users_last_login_at_idx ON users (last_login_at)",
    "CREATE INDEX users_country_plan_idx ON users (country, plan)",
    "CREATE INDEX users_locale_idx ON users (locale)",
    "CREATE INDEX users_opt_in_idx ON users (created_at) WHERE marketing_opt_in",
    # recalls: 22
    "CREATE UNIQUE INDEX recalls_number_key ON recalls (recall_number)",
    "CREATE INDEX recalls_brand_idx ON recalls (brand)",
    "CREATE INDEX recalls_category_idx ON recalls (category)",
    "CREATE INDEX recalls_hazard_idx ON recalls (hazard)",
    "CREATE INDEX recalls_severity_idx ON recalls (severity)",
    "CREATE INDEX recalls_country_idx ON recalls (country)",
    "CREATE INDEX recalls_recall_date_idx ON recalls (recall_date)",
    "CREATE INDEX recalls_published_at_idx ON recalls (published_at)",
    "CREATE INDEX recalls_updated_at_idx ON recalls (updated_at)",
    "CREATE INDEX recalls_created_by_idx ON recalls (created_by)",
    "CREATE INDEX recalls_category_date_idx ON recalls (category, recall_date)",
    "CREATE INDEX recalls_brand_category_idx ON recalls (brand, category)",
    "CREATE INDEX recalls_country_published_idx ON recalls (country, published_at)",
    "CREATE INDEX recalls_lower_product_idx ON recalls (lower(product_name))",
    "CREATE INDEX recalls_severe_idx ON recalls (published_at) WHERE severity >= 3",
    "CREATE INDEX recalls_source_idx ON recalls (source)",
    "CREATE INDEX recalls_units_idx ON recalls (units_affected)",
    "CREATE INDEX recalls_hazard_severity_idx ON recalls (hazard, severity)",
    "CREATE INDEX recalls_remedy_idx ON recalls (remedy)",
    "CREATE INDEX recalls_product_idx ON recalls (product_name)",
    "CREATE INDEX recalls_country_category_idx ON recalls (country, category)",
    # subscriptions: 8
    "CREATE INDEX subscriptions_user_id_idx ON subscriptions (user_id)",
    "CREATE INDEX subscriptions_category_idx ON subscriptions (category)",
    "CREATE INDEX subscriptions_brand_idx ON subscriptions (brand)",
    "CREATE INDEX subscriptions_user_category_idx ON subscriptions (user_id, category)",
    "CREATE INDEX subscriptions_active_idx ON subscriptions (category) WHERE active",
    "CREATE INDEX subscriptions_created_at_idx ON subscriptions (created_at)",
    "CREATE INDEX subscriptions_channel_idx ON subscriptions (channel)",
    # family_members: 7
    "CREATE INDEX family_members_user_id_idx ON family_members (user_id)",
    "CREATE INDEX family_members_birth_date_idx ON family_members (birth_date)",
    "CREATE INDEX family_members_relation_idx ON family_members (relation)",
    "CREATE INDEX family_members_user_relation_idx ON family_members (user_id, relation)",
    "CREATE INDEX family_members_created_at_idx ON family_members (created_at)",
    "CREATE INDEX family_members_lower_name_idx ON family_members (lower(name))",
]

SIZES = {"users": 15_000, "recalls": 460_000, "subscriptions": 8_000, "family_members": 28_000}


def _render(template: str) -> str:
    words = {
        "country": _pick("country", "1"),
        "category": _pick("category", "2"),
        "cat_one": _pick("category", "2"),
        "hazard": _pick("hazard", "3"),
        "part": _pick("part", "4"),
        "fail": _pick("fail", "5"),
        "who": _pick("who", "6"),
        "remedy": _pick("remedy", "7"),
        "source": _pick("source", "8"),
    }
    # '%' is SQL's modulo here: double it for psycopg, then restore the two parameters.
    text = template.format(**words).replace("%", "%%")
    return text.replace("%%(n)s", "%(n)s").replace("%%(users)s", "%(users)s")


def load(conn: psycopg.Connection[Any], scale: float = 1.0) -> dict[str, int]:
    """Create the schema, fill it, build the indexes, ANALYZE. Returns rows per table."""
    counts = {t: max(1, int(n * scale)) for t, n in SIZES.items()}
    conn.execute("SET maintenance_work_mem = '256MB'")
    conn.execute(SCHEMA)
    for table in TABLES:
        conn.execute(_render(LOAD[table]), {"n": counts[table], "users": counts["users"]})  # type: ignore[arg-type]
    for ddl in INDEXES:
        conn.execute(ddl)
    conn.execute("ANALYZE")
    return counts


def summary(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]
    (indexes,) = conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s)",
        (list(TABLES),),
    ).fetchone()  # type: ignore[misc]
    (fks,) = conn.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    ).fetchone()  # type: ignore[misc]
    return {"rows": rows, "indexes": int(indexes), "foreign_keys": int(fks)}


def accidental_delete(conn: psycopg.Connection[Any]) -> int:
    """The demo's accident: someone deletes every crib recall."""
    cur = conn.execute("DELETE FROM recalls WHERE category = 'cribs'")
    return cur.rowcount
