#!/usr/bin/python3
"""convert_real.py - writes an embedlab catalog.csv + sessions.csv for a real
dataset read from its shared copy (never into the repository):

  convert_real.py epub DATA_DIR OUT_DIR        (epub.dat, epub.time, info.csv)
  convert_real.py groceries DATA_DIR OUT_DIR   (groceries.csv, Groceries*.labels)

epub-wu: one session per `session;doc` group, timestamped by epub.time (every
download of a session gets the session's time; file order breaks the tie),
no users; documents without metadata get their id as title.
groceries: one session per basket (line), no time, no users; items are
"G" + the product code of Groceries.labels, titled by the English name,
described by the German one, in the department of Groceries.cat1.labels.
"""
import csv, datetime, os, sys


def epub(src, out):
    times = {}
    for line in open(os.path.join(src, "epub.time"), encoding="utf-8"):
        sid, _, t = line.rstrip("\n").partition(";")
        times[sid] = int(datetime.datetime.strptime(" ".join(t.split()), "%a %b %d %H:%M:%S %Y")
                         .replace(tzinfo=datetime.timezone.utc).timestamp())
    titles = {}
    with open(os.path.join(src, "info.csv"), encoding="utf-8", newline="") as f:
        r = csv.reader(f, delimiter=";")
        next(r)
        for row in r:
            if row:
                # doc_id, author, lang, title, keywords_eng, keywords, series, year, abstract
                desc = ". ".join(x for x in (row[4], row[8] if len(row) > 8 else "") if x)
                titles[row[0]] = (row[3] or row[0], desc, row[6])
    events = [l.rstrip("\n").split(";") for l in open(os.path.join(src, "epub.dat"), encoding="utf-8")]
    docs = sorted({d for _, d in events})
    with open(os.path.join(out, "catalog.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "description", "category"])
        for d in docs:
            t, desc, series = titles.get(d, (d, "", ""))
            w.writerow([d, t, desc, series])
    with open(os.path.join(out, "sessions.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["session_id", "item_id", "timestamp"])
        for s, d in events:
            w.writerow([s, d, times.get(s, "")])


def groceries(src, out):
    # Groceries.labels: code, English name, German name; the code's first
    # digit is the department of Groceries.cat1.labels
    dept, ids = {}, {}
    for line in open(os.path.join(src, "Groceries.cat1.labels"), encoding="utf-8"):
        p = line.rstrip("\r\n").split("\t")
        dept[p[0]] = p[1]
    with open(os.path.join(out, "catalog.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "description", "category"])
        for line in open(os.path.join(src, "Groceries.labels"), encoding="utf-8"):
            p = line.rstrip("\r\n").split("\t")
            ids[p[1].strip()] = "G" + p[0]
            w.writerow(["G" + p[0], p[1].strip(), p[2].strip().lower(),
                        dept.get(p[0][0], "other")])
    baskets = [[ids[x.strip()] for x in l.rstrip("\n").split(",") if x.strip()]
               for l in open(os.path.join(src, "groceries.csv"), encoding="utf-8")]
    with open(os.path.join(out, "sessions.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["session_id", "item_id"])
        for i, b in enumerate(baskets):
            for x in b:
                w.writerow(["B%05d" % (i + 1), x])


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("epub", "groceries"):
        sys.exit(__doc__)
    os.makedirs(sys.argv[3], exist_ok=True)
    (epub if sys.argv[1] == "epub" else groceries)(sys.argv[2], sys.argv[3])
