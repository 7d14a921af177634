// Public face of the artifact store: the store itself, manifests, run records, lineage.
export { ArtifactStore, storeRoot, writeFileDurable, fsyncDir, type PublishResult, type VerifyResult } from './store';
export { MANIFEST_FILE, artifactId, type Manifest, type ManifestDraft, type FileEntry, type Producer } from './manifest';
export { codeVersion, type CodeVersion } from './code-version';
export { confine, checkRelative, isInside } from './paths';
export * from './runs';
export * from './lineage';
