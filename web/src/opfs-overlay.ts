/**
 * A disk's written chunks kept in the browser's origin-private file system,
 * so that they outlive the page: `NAME.chunks` holds each written chunk at
 * its own offset (a sparse file), `NAME.map` one byte per chunk (1: written).
 * Synchronous access handles exist in workers only, which is where the
 * machine runs.  The chunks belong to one image: reusing a name with another
 * image reads that image through the old writes.
 */
import { DEFAULT_CHUNK_SIZE, type ChunkStore } from "./range-disk.js";

/** The parts of FileSystemSyncAccessHandle used here (its type is in the worker's library, not the DOM's). */
interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  getSize(): number;
  flush(): void;
  close(): void;
}
interface SyncFileHandle {
  createSyncAccessHandle(): Promise<SyncHandle>;
}

class OpfsChunkStore implements ChunkStore {
  private map: Uint8Array;
  private closed = false;

  constructor(private readonly chunks: SyncHandle, private readonly mapFile: SyncHandle, private readonly chunkSize: number) {
    this.map = new Uint8Array(mapFile.getSize());
    mapFile.read(this.map, { at: 0 });
  }

  has(index: number): boolean {
    return this.map[index] === 1;
  }

  get(index: number, length: number): Uint8Array | undefined {
    if (this.map[index] !== 1) return undefined;
    const chunk = new Uint8Array(length);
    this.chunks.read(chunk, { at: index * this.chunkSize });
    return chunk;
  }

  set(index: number, chunk: Uint8Array): void {
    this.chunks.write(chunk, { at: index * this.chunkSize });
    if (this.map[index] === 1) return;
    if (index >= this.map.length) {
      const grown = new Uint8Array(Math.max(index + 1, this.map.length * 2));
      grown.set(this.map);
      this.map = grown;
    }
    this.map[index] = 1;
    this.mapFile.write(this.map.subarray(index, index + 1), { at: index });
  }

  flush(): void {
    this.chunks.flush();
    this.mapFile.flush();
  }

  /** Flush and release the files; a second close does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.chunks.close();
    this.mapFile.close();
  }
}

/** Opens (creating when new) the persistent overlay `name`; throws where the browser has no such storage. */
export async function openPersistentOverlay(name: string): Promise<ChunkStore> {
  if (!/^[\w.-]{1,100}$/.test(name)) throw new Error(`disk store name '${name}': use letters, digits, '.', '-' and '_'`);
  const root = await navigator.storage.getDirectory();
  const open = async (file: string): Promise<SyncHandle> => {
    const handle = await root.getFileHandle(file, { create: true }) as unknown as SyncFileHandle;
    return handle.createSyncAccessHandle();
  };
  return new OpfsChunkStore(await open(`${name}.chunks`), await open(`${name}.map`), DEFAULT_CHUNK_SIZE);
}
