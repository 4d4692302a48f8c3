"""Reading a database named by a SQLAlchemy URL into raw tables, and naming that URL in
messages without its secrets."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import pandas as pd

from analytics.io._errors import LoadError
from analytics.io._profile import Profile
from analytics.io._read import RawTable, numbered


def read_database(url: str, profile: Profile) -> dict[str, list[RawTable]]:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as error:
        raise LoadError(scrubbed(f"{masked_url(url)}: not a usable database URL ({error})", url)) from None
    found = {}
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            present = set(inspector.get_table_names())
            for table in ("clients", "complaints", "interactions"):
                query = profile.table(table).sql
                is_query = query.lstrip().lower().startswith(("select", "with"))
                if not is_query and query not in present:
                    continue
                sql = sa.text(query) if is_query else sa.select(sa.text("*")).select_from(sa.table(query))
                frame = pd.read_sql(sql, connection, dtype_backend="pyarrow")
                found[table] = [numbered(RawTable(f"{masked_url(url)}#{table}", frame))]
    except sa.exc.SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise LoadError(scrubbed(f"{masked_url(url)}: the database could not be read ({cause})", url)) from None
    finally:
        engine.dispose()
    if "complaints" not in found:
        raise LoadError(
            f"{masked_url(url)}: no complaints table; set [complaints] sql to its table name or a query in the profile"
        )
    return found


def masked_url(url: str) -> str:
    """The URL as messages, reports and quarantine files name it: the user-info (user and
    password) and every query value (``?password=...``, tokens, keys) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{key}=***" for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrubbed(text: str, url: str) -> str:
    """``text`` (an error from a driver, say) with the URL masked and no secret of it left."""
    text = str(text).replace(url, masked_url(url))
    parts = urlsplit(url)
    secrets = [value for _, value in parse_qsl(parts.query)] + ([parts.password] if parts.password else [])
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text
