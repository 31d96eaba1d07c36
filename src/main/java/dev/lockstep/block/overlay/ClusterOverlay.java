package dev.lockstep.block.overlay;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.lockstep.block.file.DiskFiles;
import dev.lockstep.block.file.FileBlockDevice;

/**
 * The storage of one overlay layer: a file beside the disk image that holds whole
 * clusters, plus an in-memory allocation map from disk cluster to file slot. Clusters are
 * appended to the file in the order they are first written, so the file's size and every
 * operation here are proportional to the dirty data, never to the size of the disk.
 *
 * <p>
 * A cluster can also be mapped as known zeroes, which takes no space in the file.
 * Clusters that are not mapped are not allocated: the layer below shows through.
 *
 * <p>
 * Lookups and positional reads and writes of allocated clusters are thread-safe. Callers
 * serialise {@link #allocate} and {@link #allocateZero} for one cluster among themselves,
 * and {@link #makeEmpty()} against all other calls.
 */
public final class ClusterOverlay implements Closeable {

	/** Size of one cluster, the unit of allocation: 64 KiB. */
	public static final int CLUSTER_SIZE = 64 * 1024;

	/** log2 of {@link #CLUSTER_SIZE}. */
	public static final int CLUSTER_SHIFT = 16;

	private static final long ZERO = -1L;

	/**
	 * How many checkpoint intervals the file keeps room for: it shrinks only to the
	 * largest use among them.
	 */
	static final int KEPT_INTERVALS = 8;

	private final Path file;

	private final FileChannel channel;

	private final long diskSize;

	private volatile Map<Long, Long> map = new ConcurrentHashMap<>();

	private final AtomicLong nextSlot = new AtomicLong();

	/**
	 * The most slots the file has held since it was last truncated, as of the last
	 * {@link #makeEmpty()}: slots are taken in order from the start, so the file is never
	 * longer than this. Spares a checkpoint a system call.
	 */
	private volatile long slotsInFile;

	/**
	 * The slots used by each of the last {@link #KEPT_INTERVALS} intervals, a ring that
	 * {@link #makeEmpty()} fills; callers serialise it against every other call.
	 */
	private final long[] recentUse = new long[KEPT_INTERVALS];

	private int nextInterval;

	private final Object copyLock = new Object();

	private volatile boolean closed;

	/**
	 * Creates an empty overlay for a disk of {@code diskSize} bytes, stored in
	 * {@code file}. An existing file is truncated: overlays never outlive the run of
	 * replication that created them.
	 */
	public ClusterOverlay(Path file, long diskSize) throws IOException {
		this.file = file;
		this.diskSize = diskSize;
		Path parent = file.toAbsolutePath().getParent();
		if (parent != null) {
			Files.createDirectories(parent);
		}
		// An interrupt must not close the overlay, whose clusters hold data not yet
		// anywhere else.
		this.channel = DiskFiles.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
				StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
	}

	/** Returns the file that holds the overlay's clusters. */
	public Path file() {
		return this.file;
	}

	/** Returns the size of the disk that this overlay covers. */
	public long diskSize() {
		return this.diskSize;
	}

	/** Returns the number of clusters in a disk of the given size. */
	public static long clusterCount(long diskSize) {
		return (diskSize + CLUSTER_SIZE - 1) >>> CLUSTER_SHIFT;
	}

	/** Returns the number of bytes in the given cluster (the last one may be short). */
	public int clusterLength(long cluster) {
		long start = cluster << CLUSTER_SHIFT;
		return (int) Math.min(CLUSTER_SIZE, this.diskSize - start);
	}

	/** Returns whether the cluster is allocated in this overlay, as data or as zeroes. */
	public boolean contains(long cluster) {
		return this.map.containsKey(cluster);
	}

	/** Returns whether the cluster is allocated as known zeroes. */
	public boolean isZero(long cluster) {
		Long slot = this.map.get(cluster);
		return slot != null && slot == ZERO;
	}

	/** Returns the number of allocated clusters. */
	public int allocatedClusters() {
		return this.map.size();
	}

	/** Returns the number of bytes the overlay's file holds. */
	public long storedBytes() {
		return this.nextSlot.get() << CLUSTER_SHIFT;
	}

	/**
	 * Reads {@code dst.remaining()} bytes at {@code offsetInCluster} of an allocated
	 * cluster.
	 * @return whether the cluster was allocated; if not, {@code dst} is untouched
	 */
	public boolean read(long cluster, int offsetInCluster, ByteBuffer dst) throws IOException {
		Long slot = this.map.get(cluster);
		if (slot == null) {
			return false;
		}
		if (slot == ZERO) {
			fillZero(dst);
			return true;
		}
		readFully((slot << CLUSTER_SHIFT) + offsetInCluster, dst);
		return true;
	}

	/**
	 * Writes {@code src.remaining()} bytes at {@code offsetInCluster} of a cluster that
	 * is allocated as data.
	 * @return whether the cluster was allocated as data; if not, nothing was written
	 */
	public boolean writeInPlace(long cluster, int offsetInCluster, ByteBuffer src) throws IOException {
		Long slot = this.map.get(cluster);
		if (slot == null || slot == ZERO) {
			return false;
		}
		writeFully((slot << CLUSTER_SHIFT) + offsetInCluster, src);
		return true;
	}

	/**
	 * Stores the whole contents of a cluster ({@code data.remaining()} must be the
	 * cluster's length) in a new slot and maps the cluster to it. The data is in the file
	 * before the mapping becomes visible to readers.
	 */
	public void allocate(long cluster, ByteBuffer data) throws IOException {
		checkOpen();
		if (data.remaining() != clusterLength(cluster)) {
			throw new IllegalArgumentException(
					"Cluster " + cluster + " needs " + clusterLength(cluster) + " bytes, got " + data.remaining());
		}
		long slot = this.nextSlot.getAndIncrement();
		writeFully(slot << CLUSTER_SHIFT, data);
		this.map.put(cluster, slot);
	}

	/**
	 * Stores {@code count} consecutive whole clusters starting at {@code first} from
	 * {@code data} with one write into consecutive slots, and maps them. The clusters
	 * must all be full-length.
	 */
	public void allocateRun(long first, int count, ByteBuffer data) throws IOException {
		checkOpen();
		if (data.remaining() != (long) count * CLUSTER_SIZE || clusterLength(first + count - 1) != CLUSTER_SIZE) {
			throw new IllegalArgumentException("A run of " + count + " clusters needs " + (long) count * CLUSTER_SIZE
					+ " bytes of full clusters, got " + data.remaining());
		}
		long slot = this.nextSlot.getAndAdd(count);
		writeFully(slot << CLUSTER_SHIFT, data);
		mapRun(first, count, slot);
	}

	/**
	 * Like {@link #allocateRun}, but the data is copied from {@code source} at
	 * {@code sourceOffset} inside the kernel, without passing through a buffer.
	 */
	public void allocateRunFrom(long first, int count, FileBlockDevice source, long sourceOffset) throws IOException {
		checkOpen();
		if (clusterLength(first + count - 1) != CLUSTER_SIZE) {
			throw new IllegalArgumentException("A run of " + count + " clusters must hold full clusters only");
		}
		long slot = this.nextSlot.getAndAdd(count);
		synchronized (this.copyLock) {
			// The copy writes at the channel's position, which only copies use.
			this.channel.position(slot << CLUSTER_SHIFT);
			source.copyTo(sourceOffset, (long) count << CLUSTER_SHIFT, this.channel);
		}
		mapRun(first, count, slot);
	}

	private void mapRun(long first, int count, long slot) {
		for (int i = 0; i < count; i++) {
			this.map.put(first + i, slot + i);
		}
	}

	/** Maps the cluster as known zeroes. */
	public void allocateZero(long cluster) {
		checkOpen();
		this.map.put(cluster, ZERO);
	}

	/**
	 * Returns the allocated clusters in ascending order. Takes time proportional to the
	 * number of allocated clusters.
	 */
	public long[] sortedClusters() {
		Map<Long, Long> current = this.map;
		long[] clusters = new long[current.size()];
		int i = 0;
		for (Long cluster : current.keySet()) {
			if (i == clusters.length) {
				clusters = Arrays.copyOf(clusters, clusters.length * 2 + 1);
			}
			clusters[i++] = cluster;
		}
		clusters = (i == clusters.length) ? clusters : Arrays.copyOf(clusters, i);
		Arrays.sort(clusters);
		return clusters;
	}

	/**
	 * Drops every cluster: the overlay becomes empty. The map is replaced and the slots
	 * are reused from the start of the file, whose pages and blocks stay in place:
	 * overwriting them costs much less than allocating new ones. The file keeps room for
	 * the largest of the last {@value #KEPT_INTERVALS} intervals, and is truncated to
	 * that only when it is more than twice as large, so that its size follows the dirty
	 * data of recent intervals. A burst of writes followed by a quiet checkpoint
	 * therefore does not give the next burst new blocks to allocate. Truncating also
	 * drops pages and waits for those being written back, which can take far longer than
	 * the rest of a checkpoint; a checkpoint that keeps the file makes no system call at
	 * all. This takes time proportional to the dirty data.
	 */
	public void makeEmpty() throws IOException {
		checkOpen();
		long used = this.nextSlot.get();
		this.recentUse[this.nextInterval] = used;
		this.nextInterval = (this.nextInterval + 1) % KEPT_INTERVALS;
		long keep = 0;
		for (long recent : this.recentUse) {
			keep = Math.max(keep, recent);
		}
		long slots = Math.max(this.slotsInFile, used);
		if (slots > 2 * keep) {
			this.channel.truncate(keep << CLUSTER_SHIFT);
			slots = keep;
		}
		this.slotsInFile = slots;
		this.map = new ConcurrentHashMap<>();
		this.nextSlot.set(0);
	}

	/** Closes the overlay and deletes its file. */
	@Override
	public void close() throws IOException {
		if (this.closed) {
			return;
		}
		this.closed = true;
		try {
			this.channel.close();
		}
		finally {
			Files.deleteIfExists(this.file);
		}
	}

	private void checkOpen() {
		if (this.closed) {
			throw new IllegalStateException("Overlay " + this.file + " is closed");
		}
	}

	private void readFully(long position, ByteBuffer dst) throws IOException {
		while (dst.hasRemaining()) {
			int n = this.channel.read(dst, position);
			if (n < 0) {
				// A slot past the end of the file reads as zeroes (sparse tail).
				fillZero(dst);
				return;
			}
			position += n;
		}
	}

	private void writeFully(long position, ByteBuffer src) throws IOException {
		while (src.hasRemaining()) {
			position += this.channel.write(src, position);
		}
	}

	static void fillZero(ByteBuffer dst) {
		while (dst.hasRemaining()) {
			int n = Math.min(dst.remaining(), ZEROES.length);
			dst.put(ZEROES, 0, n);
		}
	}

	private static final byte[] ZEROES = new byte[CLUSTER_SIZE];

}
