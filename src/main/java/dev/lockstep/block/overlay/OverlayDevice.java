package dev.lockstep.block.overlay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

import dev.lockstep.block.BlockDevice;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;
import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SIZE;

/**
 * A copy-on-write layer: reads come from the overlay where it has the cluster and from
 * the backing device elsewhere; writes go to the overlay only. A write that covers part
 * of a cluster not yet in the overlay first copies the rest of the cluster up from the
 * backing device. Trims are stored as zeroes so that the backing device never shows
 * through a trimmed range.
 *
 * <p>
 * Overlay contents are speculative: {@link #flush()} flushes the backing device only, and
 * the overlay does not survive a restart.
 */
public final class OverlayDevice implements BlockDevice {

	private final ClusterOverlay overlay;

	private final BlockDevice backing;

	private final Stripes stripes = new Stripes();

	public OverlayDevice(ClusterOverlay overlay, BlockDevice backing) {
		if (overlay.diskSize() != backing.size()) {
			throw new IllegalArgumentException(
					"Overlay size " + overlay.diskSize() + " differs from backing size " + backing.size());
		}
		this.overlay = overlay;
		this.backing = backing;
	}

	/** Returns the overlay that this layer writes to. */
	public ClusterOverlay overlay() {
		return this.overlay;
	}

	@Override
	public long size() {
		return this.backing.size();
	}

	@Override
	public boolean readOnly() {
		return false;
	}

	@Override
	public void read(long offset, ByteBuffer dst) throws IOException {
		long end = offset + dst.remaining();
		long pos = offset;
		long holeStart = -1;
		while (pos < end) {
			long cluster = pos >>> CLUSTER_SHIFT;
			long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
			if (this.overlay.contains(cluster)) {
				if (holeStart >= 0) {
					readBacking(holeStart, pos, dst);
					holeStart = -1;
				}
				ByteBuffer part = slice(dst, (int) (clusterEnd - pos));
				if (!this.overlay.read(cluster, (int) (pos & (CLUSTER_SIZE - 1)), part)) {
					// Dropped concurrently by makeEmpty(), which callers exclude; read
					// below.
					this.backing.read(pos, slice(dst, (int) (clusterEnd - pos)));
				}
				dst.position(dst.position() + (int) (clusterEnd - pos));
			}
			else if (holeStart < 0) {
				holeStart = pos;
			}
			pos = clusterEnd;
		}
		if (holeStart >= 0) {
			readBacking(holeStart, end, dst);
		}
	}

	private void readBacking(long from, long to, ByteBuffer dst) throws IOException {
		ByteBuffer part = slice(dst, (int) (to - from));
		this.backing.read(from, part);
		dst.position(dst.position() + (int) (to - from));
	}

	@Override
	public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
		long end = offset + src.remaining();
		long pos = offset;
		while (pos < end) {
			long cluster = pos >>> CLUSTER_SHIFT;
			long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
			int length = (int) (clusterEnd - pos);
			writeCluster(cluster, (int) (pos & (CLUSTER_SIZE - 1)), slice(src, length));
			src.position(src.position() + length);
			pos = clusterEnd;
		}
	}

	private void writeCluster(long cluster, int offsetInCluster, ByteBuffer data) throws IOException {
		if (this.overlay.writeInPlace(cluster, offsetInCluster, data.duplicate())) {
			return;
		}
		Lock lock = this.stripes.of(cluster).writeLock();
		lock.lock();
		try {
			if (this.overlay.writeInPlace(cluster, offsetInCluster, data.duplicate())) {
				return;
			}
			int clusterLength = this.overlay.clusterLength(cluster);
			ByteBuffer whole = ByteBuffer.allocate(clusterLength);
			if (data.remaining() < clusterLength && !this.overlay.isZero(cluster)) {
				this.backing.read(cluster << CLUSTER_SHIFT, whole);
			}
			whole.position(offsetInCluster);
			whole.put(data.duplicate());
			whole.clear();
			this.overlay.allocate(cluster, whole);
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void writeZeroes(long offset, long length, boolean mayTrim, boolean fua) throws IOException {
		long end = offset + length;
		long pos = offset;
		while (pos < end) {
			long cluster = pos >>> CLUSTER_SHIFT;
			long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
			int part = (int) (clusterEnd - pos);
			if (part == this.overlay.clusterLength(cluster)) {
				zeroCluster(cluster);
			}
			else {
				writeCluster(cluster, (int) (pos & (CLUSTER_SIZE - 1)), ByteBuffer.allocate(part));
			}
			pos = clusterEnd;
		}
	}

	private void zeroCluster(long cluster) throws IOException {
		Lock lock = this.stripes.of(cluster).writeLock();
		lock.lock();
		try {
			if (!this.overlay.writeInPlace(cluster, 0, ByteBuffer.allocate(this.overlay.clusterLength(cluster)))) {
				this.overlay.allocateZero(cluster);
			}
		}
		finally {
			lock.unlock();
		}
	}

	@Override
	public void trim(long offset, long length, boolean fua) throws IOException {
		writeZeroes(offset, length, true, fua);
	}

	@Override
	public void flush() throws IOException {
		this.backing.flush();
	}

	@Override
	public List<Extent> allocation(long offset, long length) throws IOException {
		return allocation(this.overlay, this.backing, offset, length);
	}

	/**
	 * Describes the allocation of a range of {@code overlay} laid over {@code backing}:
	 * the overlay's clusters are data (or known zeroes), and the backing device's own
	 * allocation shows through everywhere else. Looks the overlay up once per cluster and
	 * asks the backing device once per run of clusters that the overlay lacks.
	 */
	public static List<Extent> allocation(ClusterOverlay overlay, BlockDevice backing, long offset, long length)
			throws IOException {
		List<Extent> extents = new ArrayList<>();
		long end = Math.min(backing.size(), offset + length);
		long pos = offset;
		while (pos < end) {
			long cluster = pos >>> CLUSTER_SHIFT;
			long clusterEnd = Math.min(end, (cluster + 1) << CLUSTER_SHIFT);
			if (overlay.contains(cluster)) {
				add(extents, new Extent(clusterEnd - pos, false, overlay.isZero(cluster)));
				pos = clusterEnd;
			}
			else {
				long runEnd = clusterEnd;
				while (runEnd < end && !overlay.contains(runEnd >>> CLUSTER_SHIFT)) {
					runEnd = Math.min(end, runEnd + CLUSTER_SIZE);
				}
				long covered = 0;
				for (Extent extent : backing.allocation(pos, runEnd - pos)) {
					long n = Math.min(extent.length(), runEnd - pos - covered);
					if (n <= 0) {
						break;
					}
					add(extents, new Extent(n, extent.hole(), extent.zero()));
					covered += n;
				}
				if (covered < runEnd - pos) {
					add(extents, new Extent(runEnd - pos - covered, false, false));
				}
				pos = runEnd;
			}
		}
		return extents;
	}

	private static void add(List<Extent> extents, Extent extent) {
		if (!extents.isEmpty()) {
			Extent last = extents.get(extents.size() - 1);
			if (last.hole() == extent.hole() && last.zero() == extent.zero()) {
				extents.set(extents.size() - 1, new Extent(last.length() + extent.length(), last.hole(), last.zero()));
				return;
			}
		}
		extents.add(extent);
	}

	/** Closes the overlay; the backing device stays open. */
	@Override
	public void close() throws IOException {
		this.overlay.close();
	}

	static ByteBuffer slice(ByteBuffer buffer, int length) {
		ByteBuffer slice = buffer.duplicate();
		slice.limit(slice.position() + length);
		return slice;
	}

}
