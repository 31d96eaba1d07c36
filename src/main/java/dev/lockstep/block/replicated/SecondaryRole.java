package dev.lockstep.block.replicated;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.lineage.LineageDevice;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;
import dev.lockstep.block.replicated.secondary.ChunkHashes;
import dev.lockstep.block.replicated.secondary.MirrorSecondary;
import dev.lockstep.block.replicated.secondary.Secondary;
import dev.lockstep.block.replicated.secondary.SecondaryStack;

/**
 * One disk while it is secondary: its {@link Secondary} side ({@code colo} or
 * {@code mirror}), the four exports it serves the primary ({@link PeerProtocol}), and how
 * a planned stop or a failover ends them. The disk's lineage follows: selecting the hash
 * export marks the disk inconsistent, the completing flush makes it take the primary's
 * generation, and a failover starts a new one before the overlays are committed.
 */
final class SecondaryRole {

	private static final Log logger = LogFactory.getLog(SecondaryRole.class);

	private final String disk;

	private final BlockDevice base;

	private final SwitchingDevice device;

	private final BlockEngineAccess engine;

	private final DiskLineage lineage;

	private final Secondary side;

	private SecondaryRole(String disk, BlockDevice base, SwitchingDevice device, BlockEngineAccess engine,
			DiskLineage lineage, Secondary side) {
		this.disk = disk;
		this.base = base;
		this.device = device;
		this.engine = engine;
		this.lineage = lineage;
		this.side = side;
	}

	/**
	 * Makes a disk secondary: switches its export to the secondary's view and adds the
	 * exports the primary uses.
	 * @param disk the disk's name
	 * @param kind {@code colo} or {@code mirror}
	 * @param base the disk's image, tracked by its lineage
	 * @param image the image's path; overlays are created beside it
	 * @param device the device the disk's export serves
	 * @param engine the disk engine
	 * @param lineage the disk's lineage
	 * @param faults where faults are recorded
	 * @param silenceLimit how long the primary may be silent, or {@code null}
	 * @param discardLocalChanges whether the primary may overwrite this node's own
	 * changes
	 * @return the started role
	 * @throws IOException if the role could not be started; nothing is left behind
	 */
	static SecondaryRole start(String disk, ReplicationKind kind, BlockDevice base, Path image, SwitchingDevice device,
			BlockEngineAccess engine, DiskLineage lineage, Faults faults, @Nullable Duration silenceLimit,
			boolean discardLocalChanges) throws IOException {
		Secondary side = null;
		SecondaryRole role = null;
		try {
			lineage.startingAsSecondary(discardLocalChanges);
			side = (kind == ReplicationKind.COLO) ? new SecondaryStack(disk, base, overlayPath(image, "hidden"),
					overlayPath(image, "active"), faults, silenceLimit)
					: new MirrorSecondary(disk, base, faults, silenceLimit);
			role = new SecondaryRole(disk, base, device, engine, lineage, side);
			BlockDevice workload = side.workload();
			// Atomically with the switch: a write before it is this node's alone; after
			// it
			// only the primary writes to the image.
			device.exclusive(() -> {
				device.switchTo(workload);
				lineage.tracking(DiskLineage.Tracking.AGREED);
			});
			role.addExports(kind);
			return role;
		}
		catch (IOException | RuntimeException | InterruptedException ex) {
			if (ex instanceof InterruptedException) {
				Thread.currentThread().interrupt();
			}
			if (role != null) {
				role.removeExports();
			}
			lineage.tracking(DiskLineage.Tracking.DIVERGING);
			device.switchTo(base);
			if (side != null) {
				side.closeReplica();
				side.close();
			}
			throw new IOException("Cannot start disk '" + disk + "' as secondary: " + Faults.describe(ex), ex);
		}
	}

	private void addExports(ReplicationKind kind) throws IOException {
		this.engine.addExport(PeerProtocol.lineageExport(this.disk), new LineageDevice(this.lineage), false, true,
				PeerProtocol.lineageDescription(this.disk), null);
		// The primary pipelines its forwarded writes on one connection; they are short,
		// so one thread applies them in order without a hand-over each.
		this.engine.addExport(PeerProtocol.replicaExport(this.disk), this.side.replica(), false, true,
				PeerProtocol.replicaDescription(this.disk, kind), this.side.primaryConnections());
		this.engine.addExport(PeerProtocol.hashesExport(this.disk), new ChunkHashes(this.base, () -> {
			this.lineage.synchronisedAsSecondary();
			this.side.synchronised();
		}), true, false, PeerProtocol.hashesDescription(this.disk), synchronisations());
		// The same hashes for a verify, which must not look like a synchronisation.
		this.engine.addExport(PeerProtocol.verifyExport(this.disk), new ChunkHashes(this.base, () -> {
		}), true, false, PeerProtocol.verifyDescription(this.disk), null);
	}

	private void removeExports() {
		this.engine.removeExport(PeerProtocol.lineageExport(this.disk));
		this.engine.removeExport(PeerProtocol.verifyExport(this.disk));
		this.engine.removeExport(PeerProtocol.hashesExport(this.disk));
		this.engine.removeExport(PeerProtocol.replicaExport(this.disk));
	}

	/**
	 * Follows the clients of the hash export: before a synchronisation starts, the
	 * lineage records that this disk is no longer consistent; if it cannot, the
	 * synchronisation is cut off.
	 */
	private Export.ClientListener synchronisations() {
		Export.ClientListener watch = this.side.synchronisations();
		return (disconnect) -> {
			try {
				this.lineage.synchronisationStarted();
			}
			catch (IOException ex) {
				logger.warn("Disk '" + this.disk + "': refusing a synchronisation, its start could not be recorded: "
						+ ex.getMessage());
				disconnect.run();
			}
			return watch.arrived(disconnect);
		};
	}

	/** The secondary's side. */
	Secondary side() {
		return this.side;
	}

	/**
	 * Ends the role: removes the exports and waits for the primary's writes in flight;
	 * then, on failover, starts a new generation and commits the overlays into the image,
	 * or, on a planned stop, drops them.
	 */
	void stop(boolean failover) throws Exception {
		removeExports();
		this.side.closeReplica();
		if (failover) {
			this.device.exclusive(() -> {
				// A new generation first: what the commit writes is this node's alone.
				this.lineage.newGeneration("failover as secondary");
				this.side.commit();
				this.device.switchTo(this.base);
			});
		}
		else {
			// Diverging first: the client writes that reach the image from the switch on
			// are this node's alone.
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			this.device.switchTo(this.base);
			try {
				this.base.flush();
				this.lineage.drained(true);
			}
			catch (IOException ex) {
				logger.warn("Disk '" + this.disk + "': could not empty the activity log after the stop, so a crash "
						+ "now would compare its extents with the peer: " + ex.getMessage());
			}
		}
		try {
			this.side.close();
		}
		catch (IOException ex) {
			logger.warn("Disk '" + this.disk + "': could not delete its overlays: " + ex.getMessage());
		}
	}

	private static Path overlayPath(Path image, String layer) {
		return image.resolveSibling(image.getFileName() + "." + layer + ".overlay");
	}

}
