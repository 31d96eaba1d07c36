package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;
import dev.lockstep.block.replicated.lineage.DiskLineage;
import dev.lockstep.block.replicated.primary.PrimaryDevice;
import dev.lockstep.block.replicated.primary.SyncProgress;
import dev.lockstep.block.replicated.primary.Verifies;
import dev.lockstep.block.replicated.primary.VerifyRefusedException;
import dev.lockstep.block.replicated.primary.VerifyStatus;
import dev.lockstep.block.replicated.protocol.PeerProtocol;
import dev.lockstep.block.replicated.protocol.ReplicationKind;
import dev.lockstep.block.replicated.secondary.PrimaryLoss;
import dev.lockstep.block.replicated.secondary.Secondary;

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

	/** How long a secondary's primary may be silent; null without a keepalive. */
	private final @Nullable Duration silenceLimit;

	private final Faults faults;

	private final DiskLineage lineage;

	private final SyncProgress progress = new SyncProgress();

	/** Receives each forwarded write's latency while this disk is primary. */
	private volatile LongConsumer forwardedWrites = (nanos) -> {
	};

	private volatile Role role = Role.IDLE;

	private volatile @Nullable ReplicationMode failedOverFrom;

	private volatile @Nullable URI peer;

	private volatile @Nullable PrimaryDevice primary;

	private volatile @Nullable SecondaryRole secondary;

	private final Verifies verifies;

	private final PrimaryRole primaryRole;

	DiskReplication(BlockEngineAccess.EngineDisk disk, ReplicationKind kind, BlockEngineAccess engine,
			long logIntervalNanos, Duration forwardTimeout, Duration probeInterval) throws IOException {
		this.name = disk.name();
		this.kind = kind;
		this.lineage = DiskLineage.open(disk.name(), disk.image(), disk.device().size(), disk.device().readOnly());
		// Every write to the image, whatever the role, passes the lineage's tracking.
		this.base = this.lineage.track(disk.device());
		this.image = disk.image();
		this.engine = engine;
		this.peers = new PeerConnector(engine, this.name);
		// The primary probes every probe interval, each probe waiting at most the
		// forward timeout: longer silence means loss.
		this.silenceLimit = (!probeInterval.isNegative() && !probeInterval.isZero())
				? probeInterval.plus(forwardTimeout) : null;
		this.faults = new Faults(this.name);
		this.device = new SwitchingDevice(this.base);
		this.verifies = new Verifies(this.name, this.device, this.lineage.dirty(), this.faults, logIntervalNanos);
		this.primaryRole = new PrimaryRole(this.name, this.kind, this.base, this.device, this.lineage, this.peers,
				this.faults, this.progress, logIntervalNanos, forwardTimeout);
		engine.replaceDevice(this.name, this.device);
	}

	String name() {
		return this.name;
	}

	/**
	 * Sets what receives the latency of each forwarded write, in nanoseconds, from the
	 * next start as primary on.
	 */
	void forwardedWrites(LongConsumer recorder) {
		this.forwardedWrites = recorder;
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
		SecondaryRole current = this.secondary;
		return (this.role == Role.SECONDARY && current != null) ? current.side().primaryLoss() : Optional.empty();
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
		try {
			PrimaryDevice forwarding = this.primaryRole.start(peer, this.forwardedWrites, cancelled, (switched) -> {
				this.peer = peer;
				this.primary = switched;
				this.role = Role.PRIMARY;
			});
			this.verifies.allow(forwarding, peer.toString(),
					() -> this.peers.connect(peer, PeerProtocol.verifyExport(this.name)));
		}
		catch (Exception ex) {
			this.primary = null;
			this.role = Role.IDLE;
			throw ex;
		}
	}

	private void startSecondary(boolean discardLocalChanges) throws IOException {
		this.secondary = SecondaryRole.start(this.name, this.kind, this.base, this.image, this.device, this.engine,
				this.lineage, this.faults, this.silenceLimit, discardLocalChanges);
		this.primary = null;
		this.role = Role.SECONDARY;
		logger.info("Disk '" + this.name + "': secondary (" + this.kind + "), accepting writes on export '"
				+ PeerProtocol.replicaExport(this.name) + "'" + (discardLocalChanges
						? "; this node's own changes will be overwritten by the primary (discardLocalChanges)" : ""));
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
			case SECONDARY -> secondary().side().checkpoint();
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

	/** The secondary's role, which a disk has exactly while its role is SECONDARY. */
	private SecondaryRole secondary() {
		SecondaryRole secondary = this.secondary;
		Assert.state(secondary != null, "A secondary disk has its secondary's side");
		return secondary;
	}

	/**
	 * As primary, holds new writes at the export back once those in flight are done;
	 * reads go on. As secondary nothing: the primary's writes it receives are the ones
	 * the primary holds back, and the secondary's own writes are buffered until the
	 * checkpoint.
	 */
	void pause() throws InterruptedException {
		if (this.role == Role.PRIMARY) {
			this.device.writeHold().hold();
		}
	}

	/** Lets the held writes in, in the order they arrived; harmless if none are held. */
	void resume() {
		this.device.writeHold().release();
	}

	// ---- stop -------------------------------------------------------------

	void stop(boolean failover) throws Exception {
		// A stop ends any pause: writes held back go on, never wait for a resume that
		// will not come (a shutdown in the middle of a pair checkpoint, say).
		resume();
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
		this.primaryRole.stop(forwarding, failover);
		this.faults.clear();
		if (failover) {
			// The forwarding device stays: it now only marks what changes for the next
			// resynchronisation.
			this.failedOverFrom = ReplicationMode.PRIMARY;
			this.role = Role.FAILED_OVER;
			logger.info("Disk '" + this.name + "': failover as primary, serving alone; " + this.lineage.dirty().count()
					+ " MiB marked for resynchronisation");
			return;
		}
		this.primary = null;
		this.role = Role.IDLE;
		logger.info("Disk '" + this.name + "': replication stopped");
	}

	private void stopSecondary(boolean failover) throws Exception {
		secondary().stop(failover);
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
		SecondaryRole role = this.secondary;
		Secondary current = (role != null) ? role.side() : null;
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
		resume();
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

}
