// Where the native addon is, and the one line to print when it cannot load.
//
// A checkout loads what `make build` made, build/Release/tcpkit.node. A release
// package (make release) has no compiler behind it: it carries the addon built
// once per architecture under prebuilds/<platform>-<arch>/, the layout
// prebuildify and node-gyp-build use, so an arm64 build goes beside the x64 one.
// The addon is built against N-API 8, which every Node >= 20 provides, so one
// build serves them all. It links libpcap, libbpf, libelf and zlib at run time:
// when one is missing the loader's message names a file, and the user needs the
// Debian package.
import fs from 'node:fs';
import path from 'node:path';

/** The package's root: dist/src/engine/ is three levels below it. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The shared libraries the addon links, and the Debian 12 packages that hold them. */
export const RUNTIME_LIBRARIES: ReadonlyArray<readonly [soname: string, debianPackage: string]> = [
  ['libpcap.so.0.8', 'libpcap0.8'],
  ['libbpf.so.1', 'libbpf1'],
  ['libelf.so.1', 'libelf1'],
  ['libz.so.1', 'zlib1g'],
];

/** Where the addon may be, in the order they are tried. */
export function addonCandidates(root = PACKAGE_ROOT): string[] {
  return [
    path.join(root, 'build', 'Release', 'tcpkit.node'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tcpkit.node'),
  ];
}

/** The addon file this package loads, or null when there is none for this platform. */
export function addonFile(root = PACKAGE_ROOT): string | null {
  return addonCandidates(root).find((f) => fs.existsSync(f)) ?? null;
}

/**
 * The one line for a failed load. The dynamic loader names only the first
 * library it could not load; the line names every runtime package, since
 * installing one that is already there costs nothing.
 */
export function addonLoadMessage(file: string | null, loaderMessage: string, root = PACKAGE_ROOT): string {
  if (file === null) {
    const [built, prebuilt] = addonCandidates(root);
    return `the native addon is not built (run 'make build'): neither ${built} nor ${prebuilt} exists`;
  }
  const missing = RUNTIME_LIBRARIES.find(([soname]) => loaderMessage.includes(soname));
  if (missing !== undefined) {
    const packages = RUNTIME_LIBRARIES.map(([, pkg]) => pkg).join(' ');
    const why = /cannot open shared object file/.test(loaderMessage) ? 'is missing' : 'cannot be loaded';
    return `the runtime library ${missing[0]} ${why}: install the Debian packages with 'apt-get install ${packages}'`;
  }
  return `the native addon ${file} cannot be loaded: ${loaderMessage}`;
}

/** Loads the addon; throws one Error with code ENOADDON and a line that says what to do. */
export function loadAddon<T>(root = PACKAGE_ROOT): T {
  const file = addonFile(root);
  try {
    if (file === null) throw new Error('not found');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as T;
  } catch (err) {
    const e = new Error(addonLoadMessage(file, (err as Error).message, root));
    (e as NodeJS.ErrnoException).code = 'ENOADDON';
    throw e;
  }
}
