package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;
import dev.lockstep.block.Export;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.lineage.LineageConflictException;
import dev.lockstep.block.replicated.lineage.LineageDevice;
import dev.lockstep.block.replicated.lineage.LineageView;
import dev.lockstep.block.replicated.lineage.SyncPlan;
import dev.lockstep.block.replicated.lineage.SyncPlanner;
import dev.lockstep.block.replicated.primary.PrimaryDevice;
import dev.lockstep.block.replicated.primary.RemoteDisk;
import dev.lockstep.block.replicated.primary.Resync;
import dev.lockstep.block.replicated.primary.SyncProgress;
import dev.lockstep.block.replicated.primary.Verifies;
import dev.lockstep.block.replicated.primary.VerifyRefusedException;
import dev.lockstep.block.replicated.primary.VerifyStatus;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;
import dev.lockstep.block.replicated.secondary.ChunkHashes;
import dev.lockstep.block.replicated.secondary.MirrorSecondary;
import dev.lockstep.block.replicated.secondary.PrimaryLoss;
import dev.lockstep.block.replicated.secondary.Secondary;
import dev.lockstep.block.replicated.secondary.SecondaryStack;

/**
 * The replication of one disk: its role, its layer stacks and their transitions.
 * Lifecycle calls are serialised by the caller; {@link #error()} and {@link #status()}
 * may be called at any time.
 */
final class DiskReplication {

	private static final Log logger = LogFactory.getLog(DiskReplication.class);

	enum Role {

		/** Not replicating; serving the image alone. */
		IDLE,

		/** Forwarding writes to the secondary. */
		PRIMARY,

		/** Receiving the primary's writes. */
		SECONDARY,

		/** Failover completed; serving the image alone until a fresh start. */
		FAILED_OVER

	}

	private final String name;

	private final ReplicationKind kind;

	private final BlockDevice base;

	private final Path image;

	private final SwitchingDevice device;

	private final BlockEngineAccess engine;

	private final PeerConnector peers;

	private final long logIntervalNanos;

	private final Duration forwardTimeout;

	/** How long a secondary's primary may be silent; null without a keepalive. */
	private final @Nullable Duration silenceLimit;

	private final Faults faults;

	private final DiskLineage lineage;

	private final SyncProgress progress = new SyncProgress();

	private volatile Role role = Role.IDLE;

	private volatile @Nullable ReplicationMode failedOverFrom;

	private volatile @Nullable URI peer;

	private volatile @Nullable PrimaryDevice primary;

	private volatile @Nullable Secondary secondary;

	private final Verifies verifies;

	DiskReplication(BlockEngineAccess.EngineDisk disk, ReplicationKind kind, BlockEngineAccess engine,
			long logIntervalNanos, Duration forwardTimeout, Duration probeInterval) throws IOException {
		this.name = disk.name();
		this.kind = kind;
		this.lineage = DiskLineage.open(disk.name(), disk.image(), disk.device().size());
		// Every write to the image, whatever the role, passes the lineage's tracking.
		this.base = this.lineage.track(disk.device());
		this.image = disk.image();
		this.engine = engine;
		this.peers = new PeerConnector(engine, this.name);
		this.logIntervalNanos = logIntervalNanos;
		this.forwardTimeout = forwardTimeout;
		// The primary probes every probe interval, each probe waiting at most the
		// forward timeout: longer silence means loss.
		this.silenceLimit = (!probeInterval.isNegative() && !probeInterval.isZero())
				? probeInterval.plus(forwardTimeout) : null;
		this.faults = new Faults(this.name);
		this.device = new SwitchingDevice(this.base);
		this.verifies = new Verifies(this.name, this.device, this.lineage.dirty(), this.faults, logIntervalNanos);
		engine.replaceDevice(this.name, this.device);
	}

	String name() {
		return this.name;
	}

	ReplicationKind kind() {
		return this.kind;
	}

	Role role() {
		return this.role;
	}

	/** The device the disk's export serves. */
	BlockDevice device() {
		return this.device;
	}

	Optional<String> error() {
		Optional<String> faults = this.faults.message();
		Optional<PrimaryLoss> lost = primaryLoss();
		if (lost.isEmpty()) {
			return faults;
		}
		return Optional.of(faults.map((message) -> message + "; ").orElse("") + lost.get().message());
	}

	/** As secondary, whether the primary is lost; see {@link Secondary#primaryLoss()}. */
	Optional<PrimaryLoss> primaryLoss() {
		Secondary current = this.secondary;
		return (this.role == Role.SECONDARY && current != null) ? current.primaryLoss() : Optional.empty();
	}

	/** The number of fault classes recorded since the last start. */
	int faultCount() {
		return this.faults.count();
	}

	/**
	 * As primary, checks that the secondary still answers; see
	 * {@link PrimaryDevice#probe()}. As secondary, notices a primary that fell silent.
	 */
	void probePeer() {
		PrimaryDevice current = this.primary;
		if (this.role == Role.PRIMARY && current != null) {
			current.probe();
		}
		// Asking is what notices a silence, also when nobody asks for errors; error()
		// reports the result.
		var unused = primaryLoss();
	}

	// ---- start ------------------------------------------------------------

	void start(ReplicationMode mode, boolean discardLocalChanges, @Nullable URI peer, BooleanSupplier cancelled)
			throws Exception {
		if (this.role == Role.PRIMARY || this.role == Role.SECONDARY) {
			throw new IllegalStateException("Disk '" + this.name + "' is already replicating as " + this.role);
		}
		if (this.role == Role.FAILED_OVER) {
			logger.info("Disk '" + this.name + "': fresh start as " + mode + " after the failover of the "
					+ this.failedOverFrom + "; replication state reset");
		}
		this.faults.clear();
		if (mode == ReplicationMode.PRIMARY) {
			startPrimary(peer, cancelled);
		}
		else {
			startSecondary(discardLocalChanges);
		}
	}

	private void startPrimary(@Nullable URI peer, BooleanSupplier cancelled) throws Exception {
		if (peer == null) {
			throw new IllegalStateException("Cannot start disk '" + this.name
					+ "' as primary: no peer configured; set lockstep.block.peer to the secondary's nbd://host:port");
		}
		RemoteDisk remote = this.peers.connect(peer, PeerProtocol.replicaExport(this.name));
		RemoteDisk lineageLink = null;
		RemoteDisk hashes = null;
		PrimaryDevice forwarding = null;
		try {
			this.peers.checkReplica(remote, peer, this.base.size(), this.kind);
			lineageLink = this.peers.connect(peer, PeerProtocol.lineageExport(this.name));
			SyncPlan plan = plan(peer, lineageLink, remote);
			this.lineage.startingAsPrimary();
			hashes = this.peers.connect(peer, PeerProtocol.hashesExport(this.name));
			forwarding = new PrimaryDevice(this.name, this.base, remote, peer.toString(), this.lineage, this.faults,
					this.forwardTimeout);
			forwarding.syncing(true);
			this.lineage.tracking(DiskLineage.Tracking.AGREED);
			this.device.switchTo(forwarding);
			this.peer = peer;
			this.primary = forwarding;
			this.role = Role.PRIMARY;
			logger.info("Disk '" + this.name + "': forwarding writes to " + peer + "; synchronising");
			new Resync(this.name, forwarding, hashes, this.lineage.dirty(), plan, this.progress, this.logIntervalNanos,
					cancelled)
				.run();
			forwarding.syncing(false);
			if (!forwarding.forwarding()) {
				throw new IOException(this.faults.message().orElse("forwarding to " + peer + " stopped"));
			}
			// Offers this node's generation, then completes the synchronisation (see
			// PeerProtocol).
			lineageLink.await(lineageLink.write(0, LineageDevice.offer(this.lineage.record().current()), false),
					this.forwardTimeout);
			lineageLink.await(lineageLink.flush(), this.forwardTimeout);
			hashes.await(hashes.flush(), this.forwardTimeout);
			this.lineage.synchronisedAsPrimary();
			this.verifies.allow(forwarding, peer.toString(),
					() -> this.peers.connect(peer, PeerProtocol.verifyExport(this.name)));
		}
		catch (Exception ex) {
			// A failed start leaves the disk idle, and an idle disk reports no error.
			this.faults.clear();
			if (forwarding != null) {
				forwarding.stopForwarding();
				this.device.switchTo(this.base);
			}
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			this.primary = null;
			this.role = Role.IDLE;
			closeQuietly(remote);
			if (ex instanceof InterruptedException || ex instanceof StartRefusedException) {
				throw ex;
			}
			throw new IOException("Cannot start disk '" + this.name + "' as primary with secondary " + peer + ": "
					+ Faults.describe(ex), ex);
		}
		finally {
			closeQuietly(hashes);
			closeQuietly(lineageLink);
		}
	}

	/**
	 * Reads the secondary's lineage and decides what the synchronisation copies. A
	 * refusal disconnects from the replica export cleanly first, so that the secondary
	 * sees a planned departure and nothing on it changes.
	 */
	private SyncPlan plan(URI peer, RemoteDisk lineageLink, RemoteDisk remote) throws IOException {
		ByteBuffer bytes = ByteBuffer.allocate((int) lineageLink.size());
		lineageLink.await(lineageLink.read(0, bytes), this.forwardTimeout);
		try {
			LineageView theirs = LineageView.decode(bytes.array(), this.base.size());
			SyncPlan plan = SyncPlanner.plan(this.name, peer.toString(), this.lineage.view(), theirs);
			logger.info("Disk '" + this.name + "': synchronisation with " + peer + " by " + plan.method() + ": "
					+ plan.reason());
			return plan;
		}
		catch (LineageConflictException ex) {
			remote.close();
			logger.warn(ex.getMessage());
			throw new StartRefusedException(String.valueOf(ex.getMessage()), ex);
		}
		catch (IllegalArgumentException ex) {
			throw new StartRefusedException("Cannot start disk '" + this.name + "' as primary: the lineage that the "
					+ "secondary " + peer + " serves is unreadable (" + ex.getMessage() + "); run the same Lockstep "
					+ "version on both nodes", ex);
		}
	}

	private void startSecondary(boolean discardLocalChanges) throws IOException {
		String replicaName = PeerProtocol.replicaExport(this.name);
		String hashesName = PeerProtocol.hashesExport(this.name);
		String verifyName = PeerProtocol.verifyExport(this.name);
		String lineageName = PeerProtocol.lineageExport(this.name);
		Secondary newSecondary = null;
		try {
			this.lineage.startingAsSecondary(discardLocalChanges);
			newSecondary = (this.kind == ReplicationKind.COLO)
					? new SecondaryStack(this.name, this.base, overlayPath("hidden"), overlayPath("active"),
							this.faults, this.silenceLimit)
					: new MirrorSecondary(this.name, this.base, this.faults, this.silenceLimit);
			Secondary started = newSecondary;
			this.device.switchTo(started.workload());
			this.engine.addExport(lineageName, new LineageDevice(this.lineage), false, true,
					PeerProtocol.lineageDescription(this.name), null);
			// The primary pipelines its forwarded writes on one connection; they are
			// short, so one thread applies them in order without a hand-over each.
			this.engine.addExport(replicaName, started.replica(), false, true,
					PeerProtocol.replicaDescription(this.name, this.kind), started.primaryConnections());
			this.engine.addExport(hashesName, new ChunkHashes(this.base, () -> {
				this.lineage.synchronisedAsSecondary();
				started.synchronised();
			}), true, false, PeerProtocol.hashesDescription(this.name), synchronisations(started));
			// The same hashes for a verify, which must not look like a synchronisation.
			this.engine.addExport(verifyName, new ChunkHashes(this.base, () -> {
			}), true, false, PeerProtocol.verifyDescription(this.name), null);
		}
		catch (IOException | RuntimeException ex) {
			this.engine.removeExport(verifyName);
			this.engine.removeExport(hashesName);
			this.engine.removeExport(replicaName);
			this.engine.removeExport(lineageName);
			this.device.switchTo(this.base);
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			if (newSecondary != null) {
				newSecondary.closeReplica();
				newSecondary.close();
			}
			throw new IOException("Cannot start disk '" + this.name + "' as secondary: " + Faults.describe(ex), ex);
		}
		this.secondary = newSecondary;
		this.primary = null;
		this.role = Role.SECONDARY;
		logger.info("Disk '" + this.name + "': secondary (" + this.kind + "), accepting writes on export '"
				+ replicaName + "'" + (discardLocalChanges
						? "; this node's own changes will be overwritten by the primary (discardLocalChanges)" : ""));
	}

	/**
	 * Follows the clients of the hash export: before a synchronisation starts, the
	 * lineage records that this disk is no longer consistent; if it cannot, the
	 * synchronisation is cut off.
	 */
	private Export.ClientListener synchronisations(Secondary started) {
		Export.ClientListener watch = started.synchronisations();
		return (disconnect) -> {
			try {
				this.lineage.synchronisationStarted();
			}
			catch (IOException ex) {
				logger.warn("Disk '" + this.name + "': refusing a synchronisation, its start could not be recorded: "
						+ ex.getMessage());
				disconnect.run();
			}
			return watch.arrived(disconnect);
		};
	}

	private Path overlayPath(String layer) {
		Path file = this.image.getFileName();
		return this.image.resolveSibling(file + "." + layer + ".overlay");
	}

	// ---- checkpoint -------------------------------------------------------

	void checkpoint() throws Exception {
		switch (this.role) {
			case PRIMARY -> {
				PrimaryDevice forwarding = forwarding();
				this.device.exclusive(() -> {
					forwarding.checkpoint();
					// Drained and durable on both nodes: the activity log may shrink.
					this.lineage.drained(false);
				});
			}
			case SECONDARY -> secondary().checkpoint();
			case FAILED_OVER -> logger.debug("Disk '" + this.name + "': checkpoint ignored after failover");
			case IDLE -> throw new IllegalStateException("Disk '" + this.name + "' is not replicating");
		}
	}

	/** The forwarding device, which a disk has exactly while its role is PRIMARY. */
	private PrimaryDevice forwarding() {
		PrimaryDevice forwarding = this.primary;
		Assert.state(forwarding != null, "A primary disk has a forwarding device");
		return forwarding;
	}

	/** The secondary's side, which a disk has exactly while its role is SECONDARY. */
	private Secondary secondary() {
		Secondary secondary = this.secondary;
		Assert.state(secondary != null, "A secondary disk has its secondary's side");
		return secondary;
	}

	// ---- stop -------------------------------------------------------------

	void stop(boolean failover) throws Exception {
		switch (this.role) {
			case PRIMARY -> stopPrimary(failover);
			case SECONDARY -> stopSecondary(failover);
			case FAILED_OVER -> logger.debug("Disk '" + this.name + "': stop ignored after failover");
			case IDLE -> {
			}
		}
	}

	private void stopPrimary(boolean failover) throws Exception {
		PrimaryDevice forwarding = forwarding();
		this.verifies.end(failover ? "failover" : "replication stopped");
		if (failover) {
			// Keep the forwarding device, which now only marks what changes for the next
			// resynchronisation.
			this.device.exclusive(() -> {
				forwarding.stopForwarding();
				this.lineage.newGeneration("failover as primary");
			});
			closeQuietly(forwarding.remote());
			this.faults.clear();
			this.failedOverFrom = ReplicationMode.PRIMARY;
			this.role = Role.FAILED_OVER;
			logger.info("Disk '" + this.name + "': failover as primary, serving alone; " + this.lineage.dirty().count()
					+ " MiB marked for resynchronisation");
			return;
		}
		boolean drained = this.device.exclusive(() -> {
			boolean flushed = false;
			if (forwarding.forwarding()) {
				try {
					forwarding.remote().await(forwarding.remote().flush(), this.forwardTimeout);
					flushed = true;
				}
				catch (IOException ex) {
					forwarding.fail(ex);
				}
			}
			forwarding.stopForwarding();
			this.device.switchTo(this.base);
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			if (flushed) {
				this.lineage.drained(true);
			}
			return flushed;
		});
		if (drained) {
			// Nothing is in flight and the secondary has just answered: disconnect
			// cleanly (NBD_CMD_DISC) before returning, also when the process is shutting
			// down, so that the secondary knows the primary left on purpose (a planned
			// stop in PeerProtocol).
			forwarding.remote().close();
		}
		else {
			closeQuietly(forwarding.remote());
		}
		this.primary = null;
		this.faults.clear();
		this.role = Role.IDLE;
		logger.info("Disk '" + this.name + "': replication stopped");
	}

	private void stopSecondary(boolean failover) throws Exception {
		this.engine.removeExport(PeerProtocol.lineageExport(this.name));
		this.engine.removeExport(PeerProtocol.verifyExport(this.name));
		this.engine.removeExport(PeerProtocol.hashesExport(this.name));
		this.engine.removeExport(PeerProtocol.replicaExport(this.name));
		Secondary current = secondary();
		current.closeReplica();
		if (failover) {
			this.device.exclusive(() -> {
				// A new generation first: what the commit writes is this node's alone.
				this.lineage.newGeneration("failover as secondary");
				current.commit();
				this.device.switchTo(this.base);
			});
		}
		else {
			this.device.switchTo(this.base);
			this.lineage.tracking(DiskLineage.Tracking.DIVERGING);
			try {
				this.base.flush();
				this.lineage.drained(true);
			}
			catch (IOException ex) {
				logger.warn("Disk '" + this.name + "': could not empty the activity log after the stop, so a crash "
						+ "now would compare its extents with the peer: " + ex.getMessage());
			}
		}
		try {
			current.close();
		}
		catch (IOException ex) {
			logger.warn("Disk '" + this.name + "': could not delete its overlays: " + ex.getMessage());
		}
		this.secondary = null;
		this.faults.clear();
		if (failover) {
			this.failedOverFrom = ReplicationMode.SECONDARY;
			this.role = Role.FAILED_OVER;
			logger.info("Disk '" + this.name + "': failover as secondary complete; serving the base image alone");
		}
		else {
			this.role = Role.IDLE;
			logger.info("Disk '" + this.name + "': replication stopped; overlays dropped");
		}
	}

	// ---- verify -----------------------------------------------------------

	/**
	 * Starts an online verify of the disk against the secondary's.
	 * @throws VerifyRefusedException if the disk is not a primary with a reachable
	 * secondary, or a verify runs already
	 */
	VerifyStatus verify(boolean repair) {
		return this.verifies.start(repair, this::verifyRefusal);
	}

	private String verifyRefusal() {
		String what = "Cannot verify disk '" + this.name + "': ";
		return switch (this.role) {
			case IDLE -> what + "it is not replicating. A verify compares a running primary's disk with its "
					+ "secondary's: start replication (POST /api/v1/replication/start) first";
			case SECONDARY -> what + "this node is its secondary. Verify on the primary's node";
			case FAILED_OVER -> what + "it failed over (as " + this.failedOverFrom
					+ ") and is served alone, with no secondary to compare with. Start replication again, then "
					+ "verify on the primary";
			case PRIMARY -> what + "its start as primary has not completed; the start's synchronisation compares "
					+ "every chunk already. Verify once the start has returned";
		};
	}

	// ---- status -----------------------------------------------------------

	DiskReplicationStatus status() {
		PrimaryDevice forwarding = this.primary;
		Secondary current = this.secondary;
		Role currentRole = this.role;
		return new DiskReplicationStatus(this.name, this.kind.toString(), currentRole.name().toLowerCase(Locale.ROOT),
				(currentRole == Role.PRIMARY) ? String.valueOf(this.peer) : null,
				currentRole == Role.PRIMARY && forwarding != null && forwarding.forwarding(),
				this.lineage.dirty().count() * PeerProtocol.CHUNK_SIZE,
				(current != null) ? current.activeOverlayBytes() : 0,
				(current != null) ? current.hiddenOverlayBytes() : 0, this.progress.snapshot(), error().orElse(null),
				primaryLoss().map(PrimaryLoss::since).orElse(null), this.verifies.status(), this.lineage.status());
	}

	void close() {
		try {
			if (this.role == Role.PRIMARY || this.role == Role.SECONDARY) {
				stop(false);
			}
		}
		catch (Exception ex) {
			logger.warn("Disk '" + this.name + "': stopping replication on shutdown failed: " + ex.getMessage());
		}
		this.lineage.close(this.base);
	}

	private static void closeQuietly(@Nullable RemoteDisk remote) {
		if (remote != null) {
			PrimaryDevice.closeInBackground(remote);
		}
	}

}
