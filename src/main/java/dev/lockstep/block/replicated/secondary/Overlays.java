package dev.lockstep.block.replicated.secondary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.overlay.ClusterOverlay;
import dev.lockstep.block.overlay.OverlayDevice;
import dev.lockstep.block.overlay.Stripes;

import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SHIFT;
import static dev.lockstep.block.overlay.ClusterOverlay.CLUSTER_SIZE;

/**
 * The overlays of a {@link SecondaryStack} over its base: the hidden overlay, the active
 * one, the device the workload uses (active, then hidden, then the base) and the
 * copy-before-write that fills hidden. The two overlays are emptied and closed together,
 * active first, and written into the base together, hidden first so that active wins.
 */
final class Overlays {

	private final BlockDevice base;

	private final ClusterOverlay hidden;

	private final ClusterOverlay active;

	private final OverlayDevice activeDevice;

	private final Stripes stripes = new Stripes();

	private final CopyBeforeWrite copyBeforeWrite;

	Overlays(BlockDevice base, Path hiddenFile, Path activeFile, Faults faults) throws IOException {
		this.base = base;
		this.hidden = new ClusterOverlay(hiddenFile, base.size());
		try {
			this.active = new ClusterOverlay(activeFile, base.size());
		}
		catch (IOException ex) {
			this.hidden.close();
			throw ex;
		}
		this.activeDevice = new OverlayDevice(this.active, new HiddenView(base, this.hidden, this.stripes, faults));
		this.copyBeforeWrite = new CopyBeforeWrite(base, this.hidden, this.stripes, faults);
	}

	ClusterOverlay hidden() {
		return this.hidden;
	}

	ClusterOverlay active() {
		return this.active;
	}

	/** The workload's device: the active overlay over hidden over the base. */
	OverlayDevice activeDevice() {
		return this.activeDevice;
	}

	CopyBeforeWrite copyBeforeWrite() {
		return this.copyBeforeWrite;
	}

	/** Empties the active overlay and then the hidden one. */
	void makeEmpty() throws IOException {
		this.active.makeEmpty();
		this.hidden.makeEmpty();
	}

	/**
	 * Writes the hidden overlay and then the active one into the base, without flushing
	 * it; a cluster in both is written from active only.
	 */
	void writeIntoBase() throws IOException {
		commitOverlay(this.hidden, this.active);
		commitOverlay(this.active, null);
	}

	private void commitOverlay(ClusterOverlay overlay, @Nullable ClusterOverlay skip) throws IOException {
		long[] clusters = overlay.sortedClusters();
		int maxRun = 16;
		ByteBuffer buffer = ByteBuffer.allocateDirect(maxRun * CLUSTER_SIZE);
		int i = 0;
		while (i < clusters.length) {
			if (skip != null && skip.contains(clusters[i])) {
				i++;
				continue;
			}
			long first = clusters[i];
			buffer.clear();
			int run = 0;
			while (i < clusters.length && run < maxRun && clusters[i] == first + run
					&& (skip == null || !skip.contains(clusters[i]))) {
				ByteBuffer part = buffer.duplicate();
				part.limit(part.position() + overlay.clusterLength(clusters[i]));
				if (!overlay.read(clusters[i], 0, part)) {
					throw new IllegalStateException("Cluster " + clusters[i] + " vanished from " + overlay.file());
				}
				buffer.position(part.position());
				run++;
				i++;
			}
			buffer.flip();
			this.base.write(first << CLUSTER_SHIFT, buffer, false);
		}
	}

	/** Closes the active overlay and then the hidden one, even if the first fails. */
	void close() throws IOException {
		try {
			this.active.close();
		}
		finally {
			this.hidden.close();
		}
	}

}
