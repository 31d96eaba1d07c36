package dev.lockstep.block.replicated;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.core.Ordered;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.replication.ReplicationParticipant;
import dev.lockstep.replication.StartOptions;
import dev.lockstep.block.replicated.primary.VerifyRefusedException;
import dev.lockstep.block.replicated.primary.VerifyStatus;

/**
 * COLO-style block replication of every disk of the engine, as one participant. The Java
 * counterpart of QEMU's {@code block/replication.c}:
 * <ul>
 * <li><b>primary</b>: each write is applied locally and forwarded to the secondary's
 * {@code <disk>.replica} export, and acknowledged when both are done; {@code start} first
 * makes the two disks identical;</li>
 * <li><b>secondary</b>: the primary's writes go into the base image after
 * copy-before-write into the hidden overlay; the disk's own export shows active, then
 * hidden, then base ({@code colo}), or the base read-only ({@code mirror});</li>
 * <li>{@code checkpoint}: the primary drains and flushes, the secondary empties its
 * overlays;</li>
 * <li>{@code stop(true)}: the primary carries on alone, the secondary commits its
 * overlays into the base and carries on alone. Later {@code checkpoint} and {@code stop}
 * calls are ignored until the next {@code start}.</li>
 * </ul>
 * Disks are handled in configuration order; a start that fails on one disk stops the
 * disks already started.
 */
public final class BlockReplicationParticipant implements ReplicationParticipant, Ordered, AutoCloseable {

	private static final Log logger = LogFactory.getLog(BlockReplicationParticipant.class);

	private final BlockReplicationProperties properties;

	private final List<DiskReplication> disks;

	private final ExecutorService worker;

	private final ScheduledExecutorService prober;

	public BlockReplicationParticipant(BlockEngineAccess engine, BlockReplicationProperties properties)
			throws IOException {
		this.properties = properties;
		this.worker = Executors.newSingleThreadExecutor((task) -> {
			Thread thread = new Thread(task, "lockstep-block-replication");
			thread.setDaemon(true);
			return thread;
		});
		List<DiskReplication> list = new ArrayList<>();
		long logInterval = properties.replication().progressInterval().toNanos();
		for (BlockEngineAccess.EngineDisk disk : engine.disks()) {
			list.add(new DiskReplication(disk, properties.kindOf(disk.name()), engine, logInterval,
					properties.replication().forwardTimeout(), properties.replication().probeInterval()));
		}
		this.disks = List.copyOf(list);
		this.prober = Executors.newSingleThreadScheduledExecutor((task) -> {
			Thread thread = new Thread(task, "lockstep-peer-probe");
			thread.setDaemon(true);
			return thread;
		});
		long interval = properties.replication().probeInterval().toMillis();
		if (interval > 0) {
			// Ends when the prober is shut down; probePeers() records its own failures
			var unused = this.prober.scheduleWithFixedDelay(this::probePeers, interval, interval,
					TimeUnit.MILLISECONDS);
		}
	}

	/** Lets every primary disk check that the secondary still answers. */
	private void probePeers() {
		for (DiskReplication disk : this.disks) {
			try {
				disk.probePeer();
			}
			catch (RuntimeException ex) {
				logger.warn("Probing the secondary for disk '" + disk.name() + "' failed: " + ex);
			}
		}
	}

	@Override
	public String name() {
		return this.properties.replication().name();
	}

	@Override
	public int getOrder() {
		return this.properties.replication().order();
	}

	@Override
	public Optional<Duration> timeout() {
		return Optional.of(this.properties.replication().timeout());
	}

	@Override
	public void start(ReplicationMode mode) throws Exception {
		start(mode, StartOptions.NONE);
	}

	/**
	 * Starts every disk; with {@link StartOptions#discardLocalChanges()}, as secondary,
	 * lets the primary overwrite this node's own changes to them.
	 */
	@Override
	public void start(ReplicationMode mode, StartOptions options) throws Exception {
		onWorker((cancelled) -> startDisks(mode, options.discardLocalChanges(), cancelled));
	}

	private void startDisks(ReplicationMode mode, boolean discardLocalChanges, BooleanSupplier cancelled)
			throws Exception {
		List<DiskReplication> started = new ArrayList<>();
		try {
			for (DiskReplication disk : this.disks) {
				disk.start(mode, discardLocalChanges, this.properties.peer(), cancelled);
				started.add(disk);
			}
		}
		catch (Exception ex) {
			for (int i = started.size() - 1; i >= 0; i--) {
				try {
					started.get(i).stop(false);
				}
				catch (Exception stopFailure) {
					ex.addSuppressed(stopFailure);
					logger.warn("Could not stop disk '" + started.get(i).name() + "' after a failed start: "
							+ stopFailure.getMessage());
				}
			}
			throw ex;
		}
	}

	@Override
	public void checkpoint() throws Exception {
		onWorker((cancelled) -> {
			for (DiskReplication disk : this.disks) {
				disk.checkpoint();
			}
		});
	}

	/**
	 * On the primary, holds new client writes back at every disk's export: the writes in
	 * flight drain first, reads go on, and a write held now lands after the checkpoint.
	 * On the secondary it does nothing. No image is touched, so it runs on the caller's
	 * thread; an interrupt at the pause's deadline lets the writes through again.
	 */
	@Override
	public void pause() throws InterruptedException {
		for (DiskReplication disk : this.disks) {
			disk.pause();
		}
	}

	/**
	 * Admits the writes held back by {@link #pause()}, in the order they arrived, on
	 * every disk.
	 */
	@Override
	public void resume() {
		for (DiskReplication disk : this.disks) {
			disk.resume();
		}
	}

	@Override
	public Optional<String> error() {
		String message = null;
		for (DiskReplication disk : this.disks) {
			Optional<String> error = disk.error();
			if (error.isPresent()) {
				message = (message == null) ? error.get() : message + "; " + error.get();
			}
		}
		return Optional.ofNullable(message);
	}

	@Override
	public void stop(boolean failover) throws Exception {
		onWorker((cancelled) -> stopDisks(failover));
	}

	private void stopDisks(boolean failover) throws Exception {
		List<String> failures = new ArrayList<>();
		Exception first = null;
		for (int i = this.disks.size() - 1; i >= 0; i--) {
			DiskReplication disk = this.disks.get(i);
			try {
				disk.stop(failover);
			}
			catch (Exception ex) {
				failures.add(ex.getMessage());
				if (first == null) {
					first = ex;
				}
				else {
					first.addSuppressed(ex);
				}
			}
		}
		if (first != null) {
			throw new IOException(String.join("; ", failures), first);
		}
	}

	/**
	 * Runs a lifecycle call on the participant's own thread. The coordinator interrupts a
	 * call that overran its deadline, and an interrupt closes any file channel the
	 * interrupted thread is using, the disk images included; so no image is ever touched
	 * on the caller's thread. On interrupt the work is asked to stop (a synchronisation
	 * gives up between chunks; a commit or checkpoint runs to its end), and the call
	 * returns once it has.
	 */
	private void onWorker(Work work) throws Exception {
		AtomicBoolean cancelled = new AtomicBoolean();
		Future<?> future = this.worker.submit(() -> {
			work.run(cancelled::get);
			return null;
		});
		boolean interrupted = false;
		while (true) {
			try {
				future.get();
				break;
			}
			catch (InterruptedException ex) {
				interrupted = true;
				cancelled.set(true);
			}
			catch (ExecutionException ex) {
				if (interrupted) {
					Thread.currentThread().interrupt();
				}
				Throwable cause = ex.getCause();
				if (cause instanceof Exception exception) {
					throw exception;
				}
				throw (Error) cause;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
	}

	@FunctionalInterface
	private interface Work {

		void run(BooleanSupplier cancelled) throws Exception;

	}

	/** Returns the replication status of every disk. Cheap; never blocks on I/O. */
	public BlockReplicationStatus status() {
		List<DiskReplicationStatus> list = new ArrayList<>();
		for (DiskReplication disk : this.disks) {
			list.add(disk.status());
		}
		return new BlockReplicationStatus(name(),
				(this.properties.peer() != null) ? this.properties.peer().toString() : null, list);
	}

	/**
	 * Registers per-disk replication meters, tagged with the disk's name: its role (1 for
	 * the current one), whether writes are forwarded, the bytes marked for the next
	 * resynchronisation, the size of each overlay, whether a secondary's primary is lost,
	 * the number of fault classes recorded, the bytes the last synchronisation looks at,
	 * compared and copied, the last verify's figures, whether the data lineage can be
	 * trusted, the bytes a crash left in doubt, and the latency of forwarded writes (a
	 * timer with histogram buckets).
	 */
	public void bindTo(MeterRegistry meters) {
		new DiskReplicationMeters(this.disks).bindTo(meters);
	}

	/**
	 * Starts an online verify of a disk in the background: compares each of its chunks
	 * with the secondary's and marks those that differ for the next synchronisation; with
	 * {@code repair} also copies them to the secondary.
	 * @return the verify's status as it starts
	 * @throws VerifyRefusedException if this node is not the disk's running primary, a
	 * verify of it runs already, or the disk is not replicated
	 */
	public VerifyStatus verify(String disk, boolean repair) {
		return this.disks.stream()
			.filter((candidate) -> candidate.name().equals(disk))
			.findFirst()
			.orElseThrow(() -> new VerifyRefusedException("Disk '" + disk + "' is not replicated"))
			.verify(repair);
	}

	/**
	 * Returns the status for {@code GET /api/v1/replication}: the peer and one
	 * {@link DiskReplicationStatus} per disk.
	 */
	@Override
	public Map<String, Object> details() {
		BlockReplicationStatus status = status();
		Map<String, Object> details = new LinkedHashMap<>();
		if (status.peer() != null) {
			details.put("peer", status.peer());
		}
		details.put("disks", status.disks());
		return details;
	}

	/**
	 * Returns the device that the export of {@code disk} serves, for tests and
	 * diagnostics.
	 */
	BlockDevice device(String disk) {
		return this.disks.stream()
			.filter((candidate) -> candidate.name().equals(disk))
			.findFirst()
			.orElseThrow(() -> new IllegalArgumentException("No disk '" + disk + "'"))
			.device();
	}

	/** Stops replication of every disk that is still replicating. */
	@Override
	public void close() {
		try {
			onWorker((cancelled) -> {
				for (int i = this.disks.size() - 1; i >= 0; i--) {
					this.disks.get(i).close();
				}
			});
		}
		catch (Exception ex) {
			logger.warn("Stopping block replication on shutdown failed: " + ex.getMessage());
		}
		this.prober.shutdownNow();
		this.worker.shutdown();
	}

}
