/**
 * What the PyTorch comparison needs on this machine (issue #14 item 6): Debian's python3 with numpy and
 * torch (`/usr/bin/python3`: PyPI is out of reach, the packages come from apt). Checked before the run,
 * so a fresh machine gets the exact missing packages and the apt-get line, and the rest of the bench
 * goes on, instead of "PyTorch run failed (No module named 'numpy')".
 */
import { spawnSync } from 'node:child_process';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface PythonModule {
  /** The import name. */
  readonly module: string;
  /** The Debian package that provides it for the system python. */
  readonly debian: string;
}

export const TORCH_BENCH_MODULES: readonly PythonModule[] = [
  { module: 'numpy', debian: 'python3-numpy' },
  { module: 'torch', debian: 'python3-torch' },
];

/** Undefined when everything is there; else lines saying what is missing and how to install it. */
export function missingPythonPrereqs(
  python = SYSTEM_PYTHON,
  modules: readonly PythonModule[] = TORCH_BENCH_MODULES,
): string[] | undefined {
  // find_spec looks a module up without importing it (importing torch takes seconds).
  const probe = spawnSync(
    python,
    [
      '-c',
      'import importlib.util, sys\nprint(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))',
      ...modules.map((m) => m.module),
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? (probe.error as NodeJS.ErrnoException).code : `exit ${probe.status}`;
    const pkgs = ['python3', ...modules.map((m) => m.debian)];
    return [
      `${python} is not usable (${why}): needs ${pkgs.join(', ')}`,
      `  install: sudo apt-get install -y ${pkgs.join(' ')}`,
    ];
  }
  const absent = new Set(probe.stdout.trim().split(/\s+/).filter(Boolean));
  const missing = modules.filter((m) => absent.has(m.module));
  if (!missing.length) return undefined;
  return [
    `${python} lacks ${missing.map((m) => `${m.module} (Debian package ${m.debian})`).join(', ')}`,
    `  install: sudo apt-get install -y ${missing.map((m) => m.debian).join(' ')}`,
  ];
}
