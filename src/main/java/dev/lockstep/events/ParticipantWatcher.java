package dev.lockstep.events;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import dev.lockstep.block.replicated.BlockReplicationParticipant;
import dev.lockstep.block.replicated.DiskReplicationStatus;
import dev.lockstep.replication.ErrorSweep;
import dev.lockstep.replication.ParticipantError;
import dev.lockstep.replication.SweepResult;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Looks at the error sweep and at the disks' progress once per poll interval and
 * publishes what changed: an {@code error} event when a participant's error is raised,
 * changes or is cleared, and a {@code sync} event when a disk's synchronisation or verify
 * progressed, at most once a second per disk.
 */
final class ParticipantWatcher extends Poller {

	private static final Log logger = LogFactory.getLog(ParticipantWatcher.class);

	private static final long SYNC_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

	private final EventLog log;

	private final ErrorSweep errorSweep;

	private final @Nullable BlockReplicationParticipant block;

	/** Used by the watcher's thread only. */
	private Map<String, String> errors = Map.of();

	/** Used by the watcher's thread only: what was last published of each disk. */
	private final Map<String, Progress> progress = new HashMap<>();

	ParticipantWatcher(EventLog log, ErrorSweep errorSweep, @Nullable BlockReplicationParticipant block,
			Duration interval) {
		super("lockstep-events-watcher", interval);
		this.log = log;
		this.errorSweep = errorSweep;
		this.block = block;
	}

	@Override
	void poll() {
		try {
			errors(this.errorSweep.sweep());
			BlockReplicationParticipant block = this.block;
			if (block != null) {
				disks(block);
			}
		}
		catch (RuntimeException ex) {
			logger.warn("Could not look at the participants' errors and progress", ex);
		}
	}

	private void errors(SweepResult sweep) {
		Map<String, String> now = new LinkedHashMap<>();
		for (ParticipantError error : sweep.errors()) {
			now.put(error.participant(), error.message());
		}
		for (Map.Entry<String, String> error : now.entrySet()) {
			if (!error.getValue().equals(this.errors.get(error.getKey()))) {
				this.log.publish("error", errorEvent(error.getKey(), error.getValue()));
			}
		}
		for (String participant : this.errors.keySet()) {
			if (!now.containsKey(participant) && sweep.complete()) {
				this.log.publish("error", errorEvent(participant, null));
			}
		}
		if (sweep.complete()) {
			this.errors = now;
		}
		else {
			Map<String, String> merged = new LinkedHashMap<>(this.errors);
			merged.putAll(now);
			this.errors = merged;
		}
	}

	private static Map<String, Object> errorEvent(String participant, @Nullable String error) {
		Map<String, Object> data = new LinkedHashMap<>();
		data.put("participant", participant);
		data.put("raised", error != null);
		data.put("error", error);
		return data;
	}

	private void disks(BlockReplicationParticipant block) {
		long now = System.nanoTime();
		for (DiskReplicationStatus disk : block.status().disks()) {
			Progress next = new Progress(disk.sync(), disk.verify(), now);
			Progress last = this.progress.get(disk.disk());
			boolean changed = (last == null) ? (disk.sync() != null || disk.verify() != null) : !last.sameAs(next);
			if (changed && (last == null || now - last.publishedAt() >= SYNC_INTERVAL_NANOS)) {
				this.progress.put(disk.disk(), next);
				Map<String, Object> data = new LinkedHashMap<>();
				data.put("participant", block.name());
				data.put("disk", disk.disk());
				data.put("role", disk.role());
				data.put("sync", disk.sync());
				data.put("verify", disk.verify());
				this.log.publish("sync", data);
			}
		}
	}

	/**
	 * A disk's progress as last published.
	 */
	private record Progress(@Nullable Object sync, @Nullable Object verify, long publishedAt) {

		boolean sameAs(Progress other) {
			return Objects.equals(this.sync, other.sync) && Objects.equals(this.verify, other.verify);
		}

	}

}
