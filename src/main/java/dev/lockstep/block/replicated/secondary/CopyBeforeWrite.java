package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.layer.FaultClass;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.RecordedIOException;
import dev.lockstep.block.overlay.ClusterOverlay;
import dev.lockstep.block.overlay.Stripes;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;
import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SIZE;

/**
 * Copy-before-write of a {@code colo} secondary: before a base cluster is first
 * overwritten by the primary after a checkpoint, its old contents are saved into the
 * hidden overlay; a cluster already saved is never saved again. Runs of up to 1 MiB are
 * saved with one read and one write, or copied inside the kernel when the base is an
 * image file whose allocation map shows data.
 */
final class CopyBeforeWrite {

	private final BlockDevice base;

	private final ClusterOverlay hidden;

	private final Stripes stripes;

	private final Faults faults;

	/**
	 * @param stripes the cluster locks that readers of the hidden view take too
	 */
	CopyBeforeWrite(BlockDevice base, ClusterOverlay hidden, Stripes stripes, Faults faults) {
		this.base = base;
		this.hidden = hidden;
		this.stripes = stripes;
		this.faults = faults;
	}

	/**
	 * Saves the base clusters of {@code [offset, offset + length)} that hidden does not
	 * hold yet.
	 */
	Stripes.Held save(long offset, long length) throws IOException {
		long first = offset >>> CLUSTER_SHIFT;
		long last = (offset + length - 1) >>> CLUSTER_SHIFT;
		boolean saved = true;
		for (long cluster = first; cluster <= last && saved; cluster++) {
			saved = this.hidden.contains(cluster);
		}
		if (saved) {
			// Readers never fall through to the base for clusters that hidden holds.
			return () -> {
			};
		}
		Stripes.Held held = this.stripes.lockExclusive(first, last);
		try {
			long cluster = first;
			while (cluster <= last) {
				if (this.hidden.contains(cluster)) {
					cluster++;
					continue;
				}
				// A run of clusters that hidden lacks, saved with one read and one write.
				long runEnd = cluster + 1;
				while (runEnd <= last && runEnd - cluster < CBW_RUN && !this.hidden.contains(runEnd)) {
					runEnd++;
				}
				saveRun(cluster, (int) (runEnd - cluster));
				cluster = runEnd;
			}
			return held;
		}
		catch (IOException | RuntimeException | Error ex) {
			held.close();
			throw ex;
		}
	}

	private void saveRun(long first, int count) throws IOException {
		long start = first << CLUSTER_SHIFT;
		int length = (int) Math.min((long) count << CLUSTER_SHIFT, this.base.size() - start);
		try {
			// A run of data in an image file is copied inside the kernel; anything else
			// is read first, so that clusters of zeroes take no space in hidden.
			if (this.base instanceof FileBlockDevice file && length == count * CLUSTER_SIZE && allData(start, length)) {
				this.hidden.allocateRunFrom(first, count, file, start);
			}
			else {
				saveRunThroughBuffer(first, count, start, length);
			}
		}
		catch (IOException | RuntimeException ex) {
			String detail = "clusters at offset " + start + "+" + length + ": " + Faults.describe(ex);
			this.faults.record(FaultClass.COPY_BEFORE_WRITE, detail);
			throw new RecordedIOException("Copy-before-write failed for " + detail, ex);
		}
	}

	private void saveRunThroughBuffer(long first, int count, long start, int length) throws IOException {
		ByteBuffer buffer = CBW_BUFFER.get();
		buffer.clear().limit(length);
		this.base.read(start, buffer);
		buffer.flip();
		boolean anyZero = false;
		for (int i = 0; i < count && !anyZero; i++) {
			anyZero = isZero(cluster(buffer, i));
		}
		if (!anyZero && length == count * CLUSTER_SIZE) {
			this.hidden.allocateRun(first, count, buffer);
			return;
		}
		for (int i = 0; i < count; i++) {
			ByteBuffer data = cluster(buffer, i);
			if (isZero(data)) {
				this.hidden.allocateZero(first + i);
			}
			else {
				this.hidden.allocate(first + i, data);
			}
		}
	}

	/**
	 * Whether the base's allocation map shows {@code [start, start + length)} as data
	 * throughout.
	 */
	private boolean allData(long start, int length) throws IOException {
		List<BlockDevice.Extent> extents = this.base.allocation(start, length);
		return extents.size() == 1 && !extents.get(0).zero() && extents.get(0).length() >= length;
	}

	private static ByteBuffer cluster(ByteBuffer run, int index) {
		ByteBuffer cluster = run.duplicate();
		int from = index * CLUSTER_SIZE;
		cluster.position(from).limit(Math.min(run.limit(), from + CLUSTER_SIZE));
		return cluster;
	}

	/** Clusters saved per read and write in copy-before-write: 1 MiB. */
	private static final int CBW_RUN = 16;

	private static final ThreadLocal<ByteBuffer> CBW_BUFFER = ThreadLocal
		.withInitial(() -> ByteBuffer.allocateDirect(CBW_RUN * CLUSTER_SIZE));

	private static boolean isZero(ByteBuffer buffer) {
		int i = buffer.position();
		int end = buffer.limit();
		for (; i + 8 <= end; i += 8) {
			if (buffer.getLong(i) != 0) {
				return false;
			}
		}
		for (; i < end; i++) {
			if (buffer.get(i) != 0) {
				return false;
			}
		}
		return true;
	}

}
