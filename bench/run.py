#!/usr/bin/env python3
"""Teikyo benchmarks. Each figure is measured next to a baseline run in the same process, on the
same machine, against the same input, and written to bench/out/report.json (DESIGN.md §6).

Figures:
  synth_245k_s    `teikyo synth --facilities N` (all five facility files + hour tables)
                  baseline: copying the files it wrote (the I/O floor of writing them)
  import_245k_s   `teikyo import facilities` of those files into a fresh SQLite database
                  (parse, validate every row incl. postal/address and municipality checks,
                  geocode, insert in one transaction)
                  baseline: a plain Python script loading the same CSVs into SQLite with
                  executemany and no validation (what a quick one-off loader does)
  import_245k_rows  facilities in the database after the import (must equal the synth rows)
  refdata_load_s  loading every embedded reference table (examples/load_all)
                  baseline: `gzip -dc` of the same compressed files to /dev/null
  refdata_rss_mb  peak RSS of that process
  mail_enqueue_245k_s     render N 定期報告案内 mails from the shipped template and queue them with
                          their delivery jobs in one SQLite transaction (examples/mail_bench);
                          time until the commit returned
                  baseline: SQLite generating N equally large mail rows itself (no rendering, no
                          parameters), plus the same jobs
  mail_enqueue_245k_checkpoint_s  the same, until the WAL checkpoint that SQLite now runs in the
                          background (not in the commit) has finished as well
  mail_enqueue_245k_pg_s  the same on PostgreSQL (needs --pg or TEIKYO_TEST_DATABASE_URL)
                  baseline: PostgreSQL generating the rows itself (generate_series)
  mail_render_245k_s      rendering those mails alone, on every core
  mail_delivery_per_s     a worker (8 jobs in hand) drains M queued mails over SMTP into a local
                          sink (mailin-embedded on loopback), recording every outcome
                  baseline: lettre sending the same messages straight to the same sink, 8 in
                          flight, no queue and no database
  validate_hospital_ms    median time of one validation (入力完了) of a complete 2025 hospital report
                          with the embedded item set, code lists and postal master (examples/forms_bench)
                  baseline: reading the same report from JSON and writing it back (serde_json)
  render_section_ms       median server time of GET of a generated section page (the slowest section
                          of the complete example hospital report, stored on SQLite), through the
                          whole router in-process: session, store reads, generation, askama
                          (examples/section_bench in teikyo-web)
                  baseline: GET /home for the same signed-in user in the same run
  diff_largest_hospital_ms  median server time of the 差異表示 (GET /reports/{id}/review) of the
                          largest synthetic hospital (teikyo_testkit::largest: every item of the
                          current item set at its limit, last 年度's 確認完了 report compared with a
                          revised 報告済 one), through the whole router in-process on SQLite; every
                          page is checked to list exactly the expected changes (examples/diff_bench
                          in teikyo-web). Goal (issue 6): ≤ 20 ms.
                  baseline: GET /home for the same signed-in reviewer in the same run
  status_list_ms          median server time of GET /prefecture/status (報告状況一覧: counts of every
                          status, the 市区町村 choices and the first page of 100 rows) for a synthetic
                          東京都 of 30,000 facilities with an open period and 定期報告 in every status
                          (teikyo_testkit::prefecture), through the whole router in-process on SQLite;
                          every page is checked to show the expected counts (examples/status_bench
                          in teikyo-web)
                  baseline: GET /home for the same signed-in reviewer in the same run
  status_csv_ms           median server time of GET /prefecture/status.csv?encoding=utf8 of the same
                          prefecture (every facility, UTF-8 with BOM, audited); every file is checked
                          to hold every row (the Shift_JIS file's time is in the baseline_name)
                  baseline: FacilityRepo::list of the same 30,000 facilities in the same run (reading
                          the prefecture's facilities without reports, CSV or HTTP)

  publish_synthetic_245k_s  `teikyo publish synthetic` over the imported facilities: synthetic
                          answers per facility from the item sets, the visibility rules, and the
                          publication sequence written on SQLite (no baseline: a setup step)
  index_rebuild_245k_s    `teikyo index rebuild`: the node's tantivy index built from the whole
                          publication sequence (read, parse, tokenise, commit), process start included
                  baseline: python3 reading every published document from the same SQLite file
                          and parsing its JSON (the floor of reading the sequence at all)
  search_vs_healthz_ratio  `teikyo serve` on that database and index; wrk (2 threads, 64 connections,
                          loopback, TEIKYO_BENCH_SECONDS=20 each) over a fixed mix of 400 /api/search
                          queries made from the published data (words; 都道府県+市区町村+診療科目;
                          小児科/内科 現在診療中 within 2 km nearest first; a prefecture with a feature,
                          open now), divided by GET /healthz throughput of the same server. Goal ≥ 0.5.
  search_rps             that search throughput (baseline: /healthz req/s)
  search_p99_ms          p99 latency of the search mix (baseline: /healthz p99). Goal ≤ 20 ms.
  rss_245k_mib           the server's peak resident memory (VmHWM) after both runs. Goal ≤ 600 MiB.
  opendata_export_245k_s  `teikyo export opendata` of every published facility (the eight MHLW files,
                          manifest with SHA-256), process start included. Goal (issue 8) ≤ 10 s.
                  baseline: python3 reading and json-parsing every published document of the same file
  opendata_import_245k_s  `teikyo import opendata` of those files into an empty SQLite database (checks,
                          master, documents published), then exported again and compared byte for byte
                          (the run fails if they differ). Goal (issue 8) ≤ 30 s.
                  baseline: python3 csv + sqlite3 executemany of the same files, no checks

`--only forms` runs just the item-set figures (validate, section pages, 差異表示), `--only status`
just the 報告状況一覧 figures, `--only search` just publication, the index and the open data (with
its own synth and import); each merges them into an existing report.json.
"""
import argparse, csv, glob, json, os, shutil, sqlite3, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where bench/run's cargo builds put the binaries (CARGO_TARGET_DIR when set, as cargo does).
RELEASE = os.path.join(os.environ.get('CARGO_TARGET_DIR') or os.path.join(ROOT, 'target'), 'release')
BIN = os.path.join(RELEASE, 'teikyo')
LOAD_ALL = os.path.join(RELEASE, 'examples', 'load_all')
MAIL_BENCH = os.path.join(RELEASE, 'examples', 'mail_bench')
FORMS_BENCH = os.path.join(RELEASE, 'examples', 'forms_bench')
SECTION_BENCH = os.path.join(RELEASE, 'examples', 'section_bench')
DIFF_BENCH = os.path.join(RELEASE, 'examples', 'diff_bench')
STATUS_BENCH = os.path.join(RELEASE, 'examples', 'status_bench')
FACILITY_FILES = ['01-1_hospital_facility_info', '02-1_clinic_facility_info',
                  '03-1_dental_facility_info', '04_maternity_home', '05_pharmacy']


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def figure(value, unit, baseline=None, baseline_name=None, n=None):
    f = {'value': round(value, 3 if abs(value) >= 1 else 5), 'unit': unit}
    if baseline is not None:
        f.update(baseline=round(baseline, 3 if abs(baseline) >= 1 else 5), baseline_name=baseline_name,
                 ratio=round(value / baseline, 2) if baseline else None)
    if n is not None:
        f['n'] = n
    return f


def python_loader(files, db):
    """The baseline: load the CSVs into SQLite as they are, no checks."""
    con = sqlite3.connect(db)
    rows = 0
    with con:
        for i, path in enumerate(files):
            with open(path, encoding='utf-8-sig', newline='') as f:
                r = csv.reader(f)
                header = next(r)
                cols = ', '.join(f'c{j}' for j in range(len(header)))
                con.execute(f'CREATE TABLE t{i} ({cols})')
                marks = ', '.join('?' * len(header))
                batch = list(r)
                con.executemany(f'INSERT INTO t{i} VALUES ({marks})', batch)
                rows += len(batch)
    con.close()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--facilities', type=int, default=245_000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--pg', help='PostgreSQL URL for the PostgreSQL figures')
    ap.add_argument('--deliver', type=int, default=20_000, help='mails delivered for mail_delivery_per_s')
    ap.add_argument('--only', choices=['forms', 'status', 'search'], help='run only these figures, merged into the existing report')
    ap.add_argument('--status-facilities', type=int, default=30_000, help='facilities of the synthetic prefecture')
    a = ap.parse_args()
    if a.only:
        path = os.path.join(ROOT, 'bench', 'out', 'report.json')
        report = {'machine': {}, 'figures': {}}
        if os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
        if a.only == 'forms':
            report['figures'].update(forms_figures())
        elif a.only == 'status':
            report['figures'].update(status_figures(a.status_facilities))
        else:
            report['figures'].update(search_figures(a.facilities, a.seed))
        return write_report(report['figures'])
    args = a
    n = a.facilities
    figures = {}
    work = tempfile.mkdtemp(prefix='teikyo-bench-')
    try:
        out = os.path.join(work, 'synth')
        secs, _ = timed(lambda: run([BIN, 'synth', '--facilities', str(n), '--seed', str(a.seed), '--out', out]))
        copy = os.path.join(work, 'copy')
        base, _ = timed(lambda: shutil.copytree(out, copy))
        shutil.rmtree(copy)
        figures['synth_245k_s'] = figure(secs, 's', base, 'copy of the files synth wrote (I/O floor)', n)

        files = [os.path.join(out, f + '.csv') for f in FACILITY_FILES]
        synth_rows = 0
        for p in files:
            with open(p, encoding='utf-8-sig', newline='') as f:
                synth_rows += sum(1 for _ in csv.reader(f)) - 1
        db = os.path.join(work, 'bench.sqlite')
        secs, res = timed(lambda: run([BIN, '--database-url', f'sqlite://{db}', 'import', 'facilities', '--quiet', *files]))
        con = sqlite3.connect(db)
        imported = con.execute('SELECT count(*) FROM facility').fetchone()[0]
        con.close()
        base_db = os.path.join(work, 'baseline.sqlite')
        base, base_rows = timed(lambda: python_loader(files, base_db))
        figures['import_245k_s'] = figure(secs, 's', base, 'python3 csv + sqlite3 executemany, no validation', imported)
        figures['import_245k_rows'] = figure(imported, 'rows', synth_rows, 'rows synth wrote', n)
        if imported != synth_rows or base_rows != synth_rows:
            print(f'COUNT MISMATCH: synth {synth_rows}, imported {imported}, baseline {base_rows}', file=sys.stderr)
            print(res.stdout[-2000:], file=sys.stderr)
            return 1

        gz = sorted(glob.glob(os.path.join(ROOT, 'data', '*.gz')))
        base, _ = timed(lambda: subprocess.run(['sh', '-c', 'gzip -dc "$@" > /dev/null', 'sh', *gz], check=True))
        secs, res = timed(lambda: run([LOAD_ALL]))
        load = json.loads(res.stdout.strip().splitlines()[-1])
        figures['refdata_load_s'] = figure(load['refdata_load_s'], 's', base, 'gzip -dc of the same data files')
        figures['refdata_rss_mb'] = figure(load['refdata_rss_mb'], 'MB')

        pg = args.pg or os.environ.get('TEIKYO_TEST_DATABASE_URL')
        cmd = [MAIL_BENCH, '--n', str(n), '--deliver', str(args.deliver)] + (['--pg', pg] if pg else [])
        res = run(cmd)
        mail = json.loads(res.stdout.strip().splitlines()[-1])
        figures['mail_enqueue_245k_s'] = figure(mail['enqueue_sqlite_s'], 's', mail['floor_sqlite_s'],
                                                'SQLite writing as many equally large rows it generates itself', n)
        figures['mail_enqueue_245k_checkpoint_s'] = figure(mail['enqueue_sqlite_with_checkpoint_s'], 's', None, None, n)
        if 'enqueue_pg_s' in mail:
            figures['mail_enqueue_245k_pg_s'] = figure(mail['enqueue_pg_s'], 's', mail['floor_pg_s'],
                                                       'PostgreSQL writing as many equally large rows it generates itself', n)
        else:
            print('mail_enqueue_245k_pg_s left out: no PostgreSQL (--pg or TEIKYO_TEST_DATABASE_URL)', file=sys.stderr)
        figures['mail_render_245k_s'] = figure(mail['render_s'], 's', None, None, n)
        figures['mail_delivery_per_s'] = figure(mail['delivery_per_s'], 'mails/s', mail['baseline_smtp_per_s'],
                                                'lettre straight to the same SMTP sink, 8 in flight, no queue or database',
                                                mail['deliver'])
        figures.update(search_figures(n, a.seed, work, db))
        figures.update(forms_figures())
        figures.update(status_figures(a.status_facilities))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return write_report(figures)


def forms_figures():
    res = run([FORMS_BENCH, '2000'])
    r = json.loads(res.stdout.strip().splitlines()[-1])
    res = run([SECTION_BENCH, '200'])
    s = json.loads(res.stdout.strip().splitlines()[-1])
    print('section pages (median ms): ' + json.dumps(s['sections'], ensure_ascii=False), file=sys.stderr)
    res = run([DIFF_BENCH, '200'])
    d = json.loads(res.stdout.strip().splitlines()[-1])
    print('diff of the largest hospital: ' + json.dumps(d, ensure_ascii=False), file=sys.stderr)
    return {
        'validate_hospital_ms': figure(r['validate_hospital_ms'], 'ms', r['baseline_json_ms'],
                                       'serde_json reading and writing the same report', r['n']),
        'render_section_ms': figure(s['render_section_ms'], 'ms', s['baseline_home_ms'],
                                    'GET /home for the same signed-in user, same router and database '
                                    f"(figure: the slowest section, {s['slowest_section']}, of the complete "
                                    'example hospital report; whole request in-process on SQLite)', s['n']),
        'diff_largest_hospital_ms': figure(d['diff_largest_hospital_ms'], 'ms', d['baseline_home_ms'],
                                           'GET /home for the same signed-in reviewer, same router and database '
                                           f"(figure: GET /reports/{{id}}/review of the largest synthetic hospital, "
                                           f"{d['changed']} of {d['answered']} items changed since the last 確認完了 "
                                           f"({d['previous_item_set']} → {d['item_set']}), page {d['page_kb']} KB, "
                                           f"p95 {round(d['p95_ms'], 2)} ms; whole request in-process on SQLite)",
                                           d['n']),
    }


def status_figures(facilities):
    res = run([STATUS_BENCH, '50', str(facilities)])
    r = json.loads(res.stdout.strip().splitlines()[-1])
    print('報告状況一覧: ' + json.dumps(r, ensure_ascii=False), file=sys.stderr)
    return {
        'status_list_ms': figure(r['status_list_ms'], 'ms', r['baseline_home_ms'],
                                 'GET /home for the same signed-in reviewer, same router and database '
                                 f"(figure: GET /prefecture/status of a synthetic 東京都 of {r['facilities']} "
                                 f"facilities, {r['rows']} listed, first page of 100 with every count; "
                                 f"p95 {round(r['status_list_p95_ms'], 2)} ms; whole request in-process on SQLite)",
                                 r['n']),
        'status_csv_ms': figure(r['status_csv_ms'], 'ms', r['baseline_repo_list_ms'],
                                f"FacilityRepo::list of the same {r['facilities']} facilities, same database "
                                f"(figure: GET /prefecture/status.csv?encoding=utf8, {r['rows']} rows, "
                                f"{r['csv_kb']} KB, audited; Shift_JIS {round(r['status_csv_sjis_ms'], 1)} ms; "
                                'whole request in-process on SQLite)', r['csv_runs']),
    }


def read_documents(db):
    con = sqlite3.connect(db)
    n = 0
    for (doc,) in con.execute('SELECT document FROM publication WHERE document IS NOT NULL'):
        json.loads(doc)
        n += 1
    con.close()
    return n


def search_figures(n, seed, work=None, db=None):
    own = work is None
    if own:
        work = tempfile.mkdtemp(prefix='teikyo-bench-search-')
    try:
        if db is None:
            out = os.path.join(work, 'synth')
            run([BIN, 'synth', '--facilities', str(n), '--seed', str(seed), '--out', out])
            db = os.path.join(work, 'bench.sqlite')
            files = [os.path.join(out, f + '.csv') for f in FACILITY_FILES]
            run([BIN, '--database-url', f'sqlite://{db}', 'import', 'facilities', '--quiet', *files])
        url = f'sqlite://{db}'
        secs_pub, _ = timed(lambda: run([BIN, '--database-url', url, 'publish', 'synthetic', '--seed', str(seed), '--quiet']))
        con = sqlite3.connect(db)
        shown = con.execute('SELECT count(*) FROM facility_publication WHERE visible').fetchone()[0]
        con.close()
        env = dict(os.environ, TEIKYO_SEARCH_INDEX_DIR=os.path.join(work, 'index'))
        secs_idx, res = timed(lambda: run([BIN, '--database-url', url, 'index', 'rebuild'], env=env))
        print(res.stdout.strip(), file=sys.stderr)
        base, rows = timed(lambda: read_documents(db))
        opendata = opendata_figures(url, work, base)
        figures = {
            'publish_synthetic_245k_s': figure(secs_pub, 's', None, None, shown),
            'index_rebuild_245k_s': figure(secs_idx, 's', base,
                                           'python3 sqlite3 reading and json-parsing every published document '
                                           'of the same file (the floor of reading the sequence)', rows),
        }
        figures.update(opendata)
        figures.update(serve_figures(url, db, env, work))
        return figures
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def opendata_figures(url, work, read_floor):
    """Export the published facilities as the eight open-data files, import them into an empty
    database, export again: the two times, and the check that the bytes are the same."""
    out = os.path.join(work, 'opendata')
    date = ['--date', '2026-12-01', '--quiet']
    secs_exp, _ = timed(lambda: run([BIN, '--database-url', url, 'export', 'opendata', '--out', out, *date]))
    with open(os.path.join(out, 'manifest.json')) as f:
        manifest = json.load(f)
    files = [os.path.join(out, x['name']) for x in manifest['files']]
    target = os.path.join(work, 'opendata.sqlite')
    secs_imp, _ = timed(lambda: run([BIN, '--database-url', f'sqlite://{target}', 'import', 'opendata', '--quiet', out]))
    base_imp, _ = timed(lambda: python_loader(files, os.path.join(work, 'opendata-baseline.sqlite')))
    again = os.path.join(work, 'opendata-again')
    run([BIN, '--database-url', f'sqlite://{target}', 'export', 'opendata', '--out', again, *date])
    for p in files:
        with open(p, 'rb') as a, open(os.path.join(again, os.path.basename(p)), 'rb') as b:
            if a.read() != b.read():
                print(f'OPEN DATA ROUND TRIP DIFFERS: {os.path.basename(p)}', file=sys.stderr)
                raise SystemExit(1)
    n = manifest['facilities']
    return {
        'opendata_export_245k_s': figure(secs_exp, 's', read_floor,
                                         'python3 sqlite3 reading and json-parsing every published document '
                                         '(the floor of reading them at all)', n),
        'opendata_import_245k_s': figure(secs_imp, 's', base_imp,
                                         'python3 csv + sqlite3 executemany of the same eight files '
                                         '(no checks, nothing published)', n),
    }


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("TEIKYO_BENCH_PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def search_paths(db, count=400, seed=1):
    """A fixed mix of /api/search queries built from the published data: words (a name's first
    characters, a reading in hiragana, romaji-free), 都道府県 + 市区町村 + 診療科目, 小児科 or 内科
    現在診療中 within 2 km of a facility, nearest first, and a prefecture with a feature, open now."""
    import random
    import urllib.parse
    rnd = random.Random(seed)
    con = sqlite3.connect(db)
    docs = [json.loads(d) for (d,) in con.execute(
        'SELECT document FROM publication WHERE document IS NOT NULL ORDER BY seq LIMIT 20000')]
    con.close()
    rnd.shuffle(docs)
    def hira(k):
        return ''.join(chr(ord(c) - 0x60) if 'ァ' <= c <= 'ヶ' else c for c in k)
    paths = []
    for i, d in enumerate(docs[:count]):
        f = d['facility']
        q = {}
        kind = i % 4
        if kind == 0:
            name = f['names']['official']
            q['q'] = name[:4] if i % 8 == 0 else hira(f['names']['official_kana'][:5])
        elif kind == 1:
            q.update(pref=f['prefecture'], city=f['municipality'], dept=rnd.choice(['01001', '03001', '10001']))
        elif kind == 2:
            c = f.get('coordinates')
            if not c:
                continue
            q.update(lat=c['lat'], lon=c['lon'], radius=2, dept=rnd.choice(['03001', '01001']), open=1)
        else:
            q.update(pref=f['prefecture'], open=1, feature=rnd.choice(['parking', 'barrier_free', 'night_holiday']))
        paths.append('/api/search?' + urllib.parse.urlencode(q))
    return paths


def wrk(url, seconds, connections, paths_file=None, script=None):
    cmd = ['wrk', '-t2', f'-c{connections}', f'-d{seconds}s', '--latency']
    env = dict(os.environ)
    if script:
        cmd += ['-s', script]
        env['TEIKYO_BENCH_PATHS'] = paths_file
    res = run(cmd + [url], env=env)
    out = res.stdout
    rps = float(out.split('Requests/sec:')[1].split()[0])
    p99 = out.split('99%')[1].split()[0]
    unit = 1000.0 if p99.endswith('s') and not p99.endswith('ms') and not p99.endswith('us') else 1.0
    p99_ms = float(p99.rstrip('mus')) * ({'ms': 1.0, 'us': 0.001}.get(p99[-2:], unit))
    errors = 'Non-2xx' in out or 'Socket errors' in out
    return rps, p99_ms, errors, out


def rss_mib(pid):
    with open(f'/proc/{pid}/status') as f:
        fields = dict(line.split(':', 1) for line in f if ':' in line)
    return int(fields['VmRSS'].split()[0]) / 1024, int(fields['VmHWM'].split()[0]) / 1024


def serve_figures(url, db, env, work):
    """`teikyo serve` on the 245k index: /healthz and /api/search under 64 connections (wrk on
    loopback, 2 threads, the same machine), p99 latency, and the server's resident memory."""
    import socket
    import urllib.request
    if shutil.which('wrk') is None:
        print('search_vs_healthz_ratio left out: install wrk (apt-get install wrk)', file=sys.stderr)
        return {}
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    base = f'http://127.0.0.1:{port}'
    env = dict(env, TEIKYO_BIND=f'127.0.0.1:{port}', TEIKYO_LOG='warn')
    server = subprocess.Popen([BIN, '--database-url', url, 'serve'], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + '/readyz', timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        paths = search_paths(db)
        paths_file = os.path.join(work, 'paths.txt')
        with open(paths_file, 'w') as f:
            f.write('\n'.join(paths) + '\n')
        script = os.path.join(work, 'paths.lua')
        with open(script, 'w') as f:
            f.write(WRK_SCRIPT)
        # Every query once (warms the page cache and the open-now cache), and each must answer.
        for p in paths:
            with urllib.request.urlopen(base + p, timeout=30) as r:
                json.load(r)
        seconds = int(os.environ.get('TEIKYO_BENCH_SECONDS', '20'))
        health_rps, health_p99, health_err, _ = wrk(base + '/healthz', seconds, 64)
        rps, p99, err, out = wrk(base + '/', seconds, 64, paths_file, script)
        print(out, file=sys.stderr)
        if err or health_err:
            print('wrk reported errors or non-2xx answers', file=sys.stderr)
        rss, peak = rss_mib(server.pid)
        return {
            'search_vs_healthz_ratio': figure(rps / health_rps, 'ratio', None, None, len(paths)),
            'search_rps': figure(rps, 'req/s', health_rps, 'GET /healthz on the same server, same wrk settings',
                                 len(paths)),
            'search_p99_ms': figure(p99, 'ms', health_p99, 'p99 of GET /healthz under the same load', len(paths)),
            'rss_245k_mib': figure(peak, 'MiB', None, None),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_report(figures):
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    report = {'machine': {'cores': os.cpu_count(), 'commit': commit}, 'figures': figures}
    os.makedirs(os.path.join(ROOT, 'bench', 'out'), exist_ok=True)
    path = os.path.join(ROOT, 'bench', 'out', 'report.json')
    with open(path, 'w') as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
        f.write('\n')
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == '__main__':
    sys.exit(main())
