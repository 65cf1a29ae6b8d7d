#!/usr/bin/env python3
"""Generate crates/archive/src/model/catalog.rs from the Noark 5 tjenestegrensesnitt standard.

Usage: scripts/noark5-catalog.py <path-to-kapitler> [<arkivstruktur.xsd>] [--dump]

Source: chapter 7 (07-tjenester_og_informasjonsmodell.rst) of
arkivverket/noark5-tjenestegrensesnitt-standard at commit 2a078e1 (v1.1), and the
arkivuttrekk schema arkivstruktur.xsd (default: /work/shared/standards/noark5/arkivstruktur.xsd)
for XML_ORDER. Standard library only. What the rst gets wrong is fixed in the OVERRIDES
tables below, never in the output.
"""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

REL_BASE = "https://rel.arkivverket.no/noark5/v5/api/"
SRC_COMMIT = "2a078e1"
CHAPTER = "07-tjenester_og_informasjonsmodell.rst"
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "crates", "archive", "src", "model", "catalog.rs")

PACKAGES = {
    "Arkivstruktur": "Arkivstruktur",
    "Kodelister": "Metadata",
    "VirksomhetsspesifikkeMetadata": "Metadata",
    "Sakarkiv": "Sakarkiv",
    "Admin": "Admin",
    "LoggingOgSporing": "LoggingOgSporing",
}

PRIMITIVES = {
    "string": "String",
    "systemid": "String",  # «simple» SystemID, a string
    "integer": "Integer",
    "decimal": "Decimal",
    "float": "Decimal",
    "double": "Decimal",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "DateTime",
}

# Attributes the server sets (never required of a client, not changeable by one). The standard
# says so in ch. 6/7 ("Registreres automatisk av systemet", "fyller API-tjenesten inn systemID,
# opprettetAv og opprettetDato", the numbering of mappeID/journalpostnummer, …).
SERVER = {
    "systemID", "opprettetDato", "opprettetAv", "referanseOpprettetAv",
    "endretDato", "endretAv", "referanseEndretAv",
    "oppdatertDato", "oppdatertAv", "referanseOppdatertAv",
    "mappeID", "saksaar", "sakssekvensnummer",
    "journalaar", "journalsekvensnummer", "journalpostnummer", "registreringsID",
    "dokumentnummer", "arkivertDato", "arkivertAv", "referanseArkivertAv",
    "avsluttetDato", "avsluttetAv", "referanseAvsluttetAv",
    # "Registreres automatisk når/ved …" the action the object records, not overridable:
    "tilknyttetDato", "tilknyttetAv", "referanseTilknyttetAv",
    "merknadsdato", "merknadRegistrertAv", "referanseMerknadRegistrertAv",
    "graderingsdato", "gradertAv", "referanseGradertAv",
    "nedgraderingsdato", "nedgradertAv", "referanseNedgradertAv",
    "kassertDato", "kassertAv", "referanseKassertAv",
    "slettetDato", "slettetAv", "referanseSlettetAv",
    "konvertertDato", "konvertertAv",
    "avskrivningsdato", "avskrevetAv", "referanseAvskrevetAv",
}
# Server-set only on these entities (the same name elsewhere is a client's value).
SERVER_ONLY_ON = {
    # dokumentnummer of a dokumentbeskrivelse is given by the order of attachment (ch. 7:
    # "Kilde: Registreres automatisk av systemet"); versjonsnummer of a dokumentobjekt likewise.
    "dokumentnummer": {"dokumentbeskrivelse"},
}
# A client states versjonsnummer, sjekksum, sjekksumAlgoritme and filstoerrelse of a
# dokumentobjekt; the upload is checked against them (400 when they disagree) and fills in
# those left out.

# Hand fixes of what the rst gets wrong or leaves out: entity -> attribute -> field overrides.
ATTR_OVERRIDES = {}
# Cells of an Attributter row the rst has in the wrong column: (entity, attribute) -> cells.
ROW_FIXES = {
    # Forek. "[0..1] [1..1]" stands in the Kode column, the Forek. column is empty.
    ("dokumentflyt", "flytMottattDato"): {"forek": "[0..1] [1..1]", "kode": ""},
    # "M683" (the metadata number) stands in the Kode column: not a code list.
    ("arkivenhet", "endretAv"): {"kode": ""},
}
# Attributes the rst has no table for: entity -> list of (name, type, forek).
EXTRA_ATTRS = {
    # Kryssreferanse has no Attributter table in ch. 7; its elements are those of the
    # arkivuttrekk (arkivstruktur.xsd complexType kryssreferanse, M210/M212/M219).
    "kryssreferanse": [
        ("referanseTilKlasse", "SystemID", "[0..1]"),
        ("referanseTilMappe", "SystemID", "[0..1]"),
        ("referanseTilRegistrering", "SystemID", "[0..1]"),
    ],
}
# Type names in the rst that are neither primitives, code lists nor sections of their own.
TYPE_ALIASES = {}

# Objects the standard has no rel for but the reference implementation Nikita
# (github.com/arkivverket/nikita-noark5-core, HEAD 74e2535) has: names from
# src/main/java/nikita/common/config/N5ResourceMappings.java (KEYWORD = "noekkelord",
# AUTHOR = "forfatter", STORAGE_LOCATION = "oppbevaringssted", SCREENING_METADATA =
# "skjermingmetadata"), rels from src/main/java/nikita/common/config/Constants.java
# (REL_FONDS_STRUCTURE_[NEW_]KEYWORD, _AUTHOR, _STORAGE_LOCATION, _SCREENING_METADATA), and the
# entities carrying them from src/main/java/nikita/webapp/hateoas/*HateoasHandler.java
# (Fonds, Series, Class, File, Record, DocumentDescription). Nikita itself publishes these
# under its own namespace https://nikita.arkivlab.no/noark5/v5/<name>/ (since its commit
# 110fb025, "Move relations not listed in the spec under http://nikita.arkivlab.no/"); we put
# them under that same namespace, so clients written against Nikita find them.
NIKITA_REL_BASE = "https://nikita.arkivlab.no/noark5/v5/"
NIKITA_ENTITIES = [
    # name, attributes, carried by (Nikita handler -> our entity)
    ("noekkelord", [("noekkelord", "string", "[1..1]")],
     ["klasse", "mappe", "registrering"]),  # Class, File, Record
    ("forfatter", [("forfatter", "string", "[1..1]")],
     ["registrering", "dokumentbeskrivelse"]),  # Record, DocumentDescription
    ("oppbevaringssted", [("oppbevaringssted", "string", "[1..1]")],
     ["arkiv", "arkivdel", "mappe", "registrering", "dokumentbeskrivelse"]),  # Fonds, Series, File, Record, DocumentDescription
    ("skjermingmetadata", [("skjermingMetadata", "SkjermingMetadata", "[1..1]")],
     ["arkivdel", "klasse", "mappe", "registrering", "dokumentbeskrivelse"]),  # Series, Class, File, Record, DocumentDescription
]


def sections(lines):
    """(title, level, start) of every section heading."""
    out = []
    levels = {"=": 1, "~": 2, "^": 3, "'": 4}
    for i in range(len(lines) - 1):
        t, u = lines[i].strip(), lines[i + 1]
        if t and re.fullmatch(r"([=~^'])\1{3,}", u) and len(u) >= len(t) and not lines[i].startswith(" "):
            out.append((t, levels[u[0]], i))
    return out


def tables(body):
    """{title: [rows]} of the list-tables in a section body; each row a list of cell texts."""
    out = {}
    i = 0
    while i < len(body):
        m = re.match(r"\.\. list-table::\s*(.*)$", body[i])
        if not m:
            i += 1
            continue
        title = m.group(1).strip()
        i += 1
        rows = []
        while i < len(body):
            line = body[i]
            if re.match(r" \* -( |$)", line):
                rows.append([line[5:]])
            elif re.match(r"   -( |$)", line) and rows:
                rows[-1].append(line[5:])
            elif line.startswith("     ") and rows:
                rows[-1][-1] += " " + line.strip()
            elif line.strip() == "" or line.startswith("   :"):
                if rows and line.strip() == "" and i + 1 < len(body) and not body[i + 1].startswith(" "):
                    break
            elif not line.startswith(" "):
                break
            i += 1
        rows = [[re.sub(r"\s+", " ", c.replace("\\*", "*")).strip() for c in r] for r in rows]
        if rows and all(c.startswith("**") or c == "" for c in rows[0]):
            rows = rows[1:]
        out.setdefault(title, []).extend(rows)
    return out


def parse(kapitler):
    lines = open(os.path.join(kapitler, CHAPTER), encoding="utf-8").read().split("\n")
    secs = sections(lines)
    pkg = None
    classes = []
    for n, (title, level, start) in enumerate(secs):
        end = secs[n + 1][2] if n + 1 < len(secs) else len(lines)
        if level == 2:
            pkg = PACKAGES.get(title)
            continue
        body = lines[start + 2:end]
        typ = next((l for l in body if l.startswith("*Type:*")), None)
        if typ is None or pkg is None:
            continue
        arv = next((l for l in body if l.startswith("*Arver:*")), "")
        m = re.search(r"\*\*(\w+)\*\*", arv)
        stereo = re.search(r"«(\w+)»", typ)
        classes.append({
            "title": title,
            "package": pkg,
            "stereotype": stereo.group(1) if stereo else None,
            "extends": m.group(1) if m else None,
            "tables": tables(body),
        })
    return classes


def rel_name(rels, title):
    """The entity's lower-case name as in its own rel, else the title lower-cased."""
    low = title.lower()
    for r in rels:
        if r.rstrip("/").split("/")[-1].lower() == low:
            return r.rstrip("/").split("/")[-1]
    return low


def forek(text):
    """(required, many) from a Forek. cell: the first multiplicity is the API's."""
    ms = re.findall(r"\[(\d)\.\.(\d|\*)\]", text)
    if not ms:
        raise SystemExit("no multiplicity in %r" % text)
    lo, hi = ms[0]
    return lo == "1", hi == "*" or (hi.isdigit() and int(hi) > 1)


def build(classes):
    codes, ents = [], []
    for c in classes:
        rels = [r for row in c["tables"].get("Relasjonsnøkler", []) for r in row[:1] if r.startswith("http")]
        if c["stereotype"] == "codelist":
            own = [r for r in rels if "/metadata/" in r and "/ny-" not in r]
            name = own[0].rstrip("/").split("/")[-1] if own else c["title"].lower()
            # a Kode cell may be an rst link to PRONOM: `fmt/95 <http://…/fmt/95>`_ -> fmt/95
            values = [(re.sub(r"^`(.+?) <[^>]*>`_$", r"\1", row[2]), row[0]) for row in c["tables"].get("Kodeliste", [])]
            codes.append({"name": name, "title": c["title"], "values": values})
        elif c["stereotype"] == "simple":
            continue
        else:
            ents.append(dict(c, rels=rels))
    code_by_title = {c["title"].lower(): c["name"] for c in codes}
    ent_titles = {e["title"].lower() for e in ents}
    entities = []
    for e in ents:
        name = e["title"].lower()
        seen = []
        for r in e["rels"]:
            if r == "self" or r in seen:
                continue
            seen.append(r)
        attrs = []
        rows = [(r[0], r[1] if len(r) > 1 else "", r[2] if len(r) > 2 else "", r[3] if len(r) > 3 else "", r[4] if len(r) > 4 else "") for r in e["tables"].get("Attributter", [])]
        rows += [(n, "", f, "", t) for n, t, f in EXTRA_ATTRS.get(name, [])]
        for aname, merknad, fk, kode, ty in rows:
            aname = aname.strip("* ")
            fix = ROW_FIXES.get((name, aname), {})
            fk, kode, ty = fix.get("forek", fk), fix.get("kode", kode), fix.get("type", ty)
            tyname = TYPE_ALIASES.get(ty, ty).strip()
            low = tyname.lower()
            if low in PRIMITIVES:
                rty = PRIMITIVES[low]
            elif low in code_by_title:
                rty = 'Code("%s")' % code_by_title[low]
            elif low in ent_titles:
                rty = 'Object("%s")' % low
            else:
                raise SystemExit("%s.%s: unknown type %r" % (name, aname, ty))
            req, many = forek(fk)
            server = aname in SERVER and (aname not in SERVER_ONLY_ON or name in SERVER_ONLY_ON[aname])
            a = {"name": aname, "ty": rty, "required": req and not server, "many": many, "server": server}
            a.update(ATTR_OVERRIDES.get(name, {}).get(aname, {}))
            attrs.append(a)
        entities.append({
            "name": name,
            "package": e["package"],
            "extends": e["extends"].lower() if e["extends"] else None,
            "attributes": attrs,
            "rels": seen,
        })
    by_name = {e["name"]: e for e in entities}
    for name, attrs, carriers in NIKITA_ENTITIES:
        entities.append({
            "name": name,
            "package": "Arkivstruktur",
            "extends": None,
            "attributes": [{"name": n, "ty": ('Code("%s")' % code_by_title[t.lower()]) if t.lower() in code_by_title else PRIMITIVES[t.lower()],
                            "required": f.startswith("[1"), "many": False, "server": False} for n, t, f in attrs],
            "rels": [],
            "nikita": True,
        })
        for carrier in carriers:
            for r in (NIKITA_REL_BASE + name + "/", NIKITA_REL_BASE + "ny-" + name + "/"):
                if r not in by_name[carrier]["rels"]:
                    by_name[carrier]["rels"].append(r)
    return entities, codes


def xml_order(xsd):
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    root = ET.parse(xsd).getroot()
    out = []
    for ct in root.findall("xs:complexType", ns):
        names = []
        for el in ct.iter("{http://www.w3.org/2001/XMLSchema}element"):
            n = el.get("name") or (el.get("ref") or "").split(":")[-1]
            if n and n not in names:
                names.append(n)
        out.append((ct.get("name"), names))
    return out


def rs_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(entities, codes, order):
    o = []
    w = o.append
    w("//! The Noark 5 information model catalog: every entity, its attributes and rels, and the")
    w("//! code lists of the `metadata` package with their standard values.")
    w("//!")
    w("//! GENERATED, do not edit: run `scripts/noark5-catalog.py <path-to-kapitler>`.")
    w("//! Source: `kapitler/%s` of arkivverket/noark5-tjenestegrensesnitt-standard" % CHAPTER)
    w("//! at commit %s (v1.1), with the overrides in the generator; `XML_ORDER` from the" % SRC_COMMIT)
    w("//! arkivuttrekk schema `arkivstruktur.xsd` (Noark 5 v5.0).")
    w("")
    w("use super::{AttrType::*, Attribute, CodeList, Entity, Package};")
    w("")
    w("const fn a(name: &'static str, ty: super::AttrType, required: bool, many: bool, server: bool) -> Attribute {")
    w("    Attribute { name, ty, required, many, server }")
    w("}")
    w("")
    w("/// Every entity.")
    w("pub static ENTITIES: &[Entity] = &[")
    for e in entities:
        if e.get("nikita"):
            w("    // Not in the standard: as Nikita (see scripts/noark5-catalog.py, NIKITA_ENTITIES).")
        w("    Entity {")
        w("        name: %s," % rs_str(e["name"]))
        w("        package: Package::%s," % e["package"])
        w("        extends: %s," % ("Some(%s)" % rs_str(e["extends"]) if e["extends"] else "None"))
        w("        attributes: &[")
        for a in e["attributes"]:
            w("            a(%s, %s, %s, %s, %s)," % (rs_str(a["name"]), a["ty"], str(a["required"]).lower(), str(a["many"]).lower(), str(a["server"]).lower()))
        w("        ],")
        w("        rels: &[")
        for r in e["rels"]:
            w("            %s," % rs_str(r))
        w("        ],")
        w("    },")
    w("];")
    w("")
    w("/// Every code list of the `metadata` package, in the standard's order.")
    w("pub static CODE_LISTS: &[CodeList] = &[")
    for c in codes:
        w("    CodeList {")
        w("        name: %s," % rs_str(c["name"]))
        w("        values: &[")
        for k, v in c["values"]:
            w("            (%s, %s)," % (rs_str(k), rs_str(v)))
        w("        ],")
        w("    },")
    w("];")
    w("")
    w("/// The arkivuttrekk's element order: each complexType of `arkivstruktur.xsd` (by its XSD")
    w("/// name, e.g. `saksmappe`, `utfoertKassasjon`) and its own elements in sequence order")
    w("/// (those of an extended base type not repeated).")
    w("pub static XML_ORDER: &[(&str, &[&str])] = &[")
    for name, names in order:
        w("    (")
        w("        %s," % rs_str(name))
        w("        &[")
        for n in names:
            w("            %s," % rs_str(n))
        w("        ],")
        w("    ),")
    w("];")
    return "\n".join(o) + "\n"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        raise SystemExit(__doc__)
    kapitler = args[0]
    xsd = args[1] if len(args) > 1 else "/work/shared/standards/noark5/arkivstruktur.xsd"
    entities, codes = build(parse(kapitler))
    if "--dump" in sys.argv:
        for e in entities:
            print(e["name"], e["package"], "extends", e["extends"], len(e["rels"]), "rels")
            for a in e["attributes"]:
                print("   ", a["name"], a["ty"], "req" if a["required"] else "", "many" if a["many"] else "", "SERVER" if a["server"] else "")
        for c in codes:
            print("code", c["name"], c["values"])
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(render(entities, codes, xml_order(xsd)))
    # the output is committed: leave it as `cargo fmt` would (rustfmt.toml of the workspace)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["rustfmt", "--edition", "2024", "--config-path", os.path.join(root, "rustfmt.toml"), OUT], check=True)
    print("wrote %s: %d entities, %d code lists" % (OUT, len(entities), len(codes)))


if __name__ == "__main__":
    main()
