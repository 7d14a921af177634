// Types of cache-file.js for the TypeScript side (lib/disk-cache.ts).
export function publishCacheFile(file: string, data: string | Uint8Array, isOlderVersion: (name: string) => boolean, names?: readonly string[]): boolean;
