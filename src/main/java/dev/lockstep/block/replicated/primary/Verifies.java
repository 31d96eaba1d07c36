package dev.lockstep.block.replicated.primary;

import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import dev.lockstep.block.replicated.lineage.DirtyChunks;
import dev.lockstep.block.layer.Faults;
import dev.lockstep.block.layer.SwitchingDevice;

/**
 * The online verifies of one primary disk: they may run only from a completed start as
 * primary to the stop, one at a time, and a stop cancels the one that runs.
 */
public final class Verifies {

	private final String disk;

	private final SwitchingDevice device;

	private final DirtyChunks dirty;

	private final Faults faults;

	private final long logIntervalNanos;

	/** Guarded by this: the forwarding device while verifies may run. */
	private @Nullable PrimaryDevice verifiable;

	/** Guarded by this: where the secondary's hashes are, while verifies may run. */
	private Verify.@Nullable Connector hashes;

	/** Guarded by this: the secondary, for messages. */
	private @Nullable String secondary;

	/** The running or last verify. */
	private volatile @Nullable Verify last;

	public Verifies(String disk, SwitchingDevice device, DirtyChunks dirty, Faults faults, long logIntervalNanos) {
		this.disk = disk;
		this.device = device;
		this.dirty = dirty;
		this.faults = faults;
		this.logIntervalNanos = logIntervalNanos;
	}

	/**
	 * Lets verifies run: the start as primary has completed.
	 * @param forwarding the primary's forwarding device
	 * @param secondary the secondary, for messages
	 * @param hashes connects to the secondary's verify export
	 */
	public synchronized void allow(PrimaryDevice forwarding, String secondary, Verify.Connector hashes) {
		this.verifiable = forwarding;
		this.secondary = secondary;
		this.hashes = hashes;
	}

	/**
	 * Starts a verify.
	 * @param repair whether to copy mismatching chunks to the secondary
	 * @param notAllowed why verifies may not run now, asked only when they may not
	 * @return the new verify's status
	 * @throws VerifyRefusedException if verifies may not run, forwarding has stopped, or
	 * one runs already
	 */
	public synchronized VerifyStatus start(boolean repair, Supplier<String> notAllowed) {
		PrimaryDevice forwarding = this.verifiable;
		Verify.@Nullable Connector connector = this.hashes;
		if (forwarding == null || connector == null) {
			throw new VerifyRefusedException(notAllowed.get());
		}
		if (!forwarding.forwarding()) {
			throw new VerifyRefusedException("Cannot verify disk '" + this.disk + "': "
					+ this.faults.message().orElse("forwarding to " + this.secondary + " has stopped")
					+ ". Its changes are tracked for the next synchronisation; once the secondary is back, "
					+ "stop and start replication on this node, which compares every chunk");
		}
		Verify running = this.last;
		if (running != null && running.running()) {
			VerifyStatus status = running.status();
			throw new VerifyRefusedException("A verify of disk '" + this.disk + "' is running since "
					+ status.startedAt() + " (" + status + "); wait for it to end: GET /api/v1/disks/" + this.disk);
		}
		Verify started = Verify.start(this.disk, forwarding, this.device, connector, this.dirty, repair,
				this.logIntervalNanos);
		this.last = started;
		return started.status();
	}

	/**
	 * Stops verifies for good until the next {@link #allow}; cancels a running one and
	 * waits for it.
	 * @param why what ended them, for the cancelled verify's status
	 */
	public void end(String why) {
		Verify running;
		synchronized (this) {
			this.verifiable = null;
			this.hashes = null;
			running = this.last;
		}
		if (running != null) {
			running.cancel(why);
		}
	}

	/** The running or last verify's status, or {@code null} if none ran. */
	public @Nullable VerifyStatus status() {
		Verify verify = this.last;
		return (verify != null) ? verify.status() : null;
	}

}
