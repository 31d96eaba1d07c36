package dev.lockstep.block.replicated;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

import org.jspecify.annotations.Nullable;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import dev.lockstep.block.replicated.primary.SyncStatus;
import dev.lockstep.block.replicated.primary.VerifyStatus;

/**
 * The replication meters of each disk of the {@link BlockReplicationParticipant}, tagged
 * with the disk's name: gauges read from the disk's status on each scrape, and the timer
 * of its forwarded writes.
 */
final class DiskReplicationMeters {

	private final List<DiskReplication> disks;

	DiskReplicationMeters(List<DiskReplication> disks) {
		this.disks = disks;
	}

	/** Registers the meters of every disk. */
	void bindTo(MeterRegistry meters) {
		for (DiskReplication disk : this.disks) {
			for (DiskReplication.Role role : DiskReplication.Role.values()) {
				String tag = role.name().toLowerCase(Locale.ROOT);
				gauge(meters, "lockstep.replication.role", disk, (d) -> (d.role() == role) ? 1 : 0, null,
						"The disk's replication role, 1 for the current one", "role", tag);
			}
			gauge(meters, "lockstep.replication.forwarding", disk, (d) -> d.status().forwarding() ? 1 : 0, null,
					"1 while the primary forwards the disk's writes to the secondary");
			gauge(meters, "lockstep.replication.dirty", disk, (d) -> d.status().dirtyBytes(), "bytes",
					"Bytes marked for the next resynchronisation");
			gauge(meters, "lockstep.replication.overlay", disk, (d) -> d.status().activeOverlayBytes(), "bytes",
					"Bytes held by an overlay of the secondary", "overlay", "active");
			gauge(meters, "lockstep.replication.overlay", disk, (d) -> d.status().hiddenOverlayBytes(), "bytes",
					"Bytes held by an overlay of the secondary", "overlay", "hidden");
			gauge(meters, "lockstep.replication.primary.lost", disk, (d) -> d.primaryLoss().isPresent() ? 1 : 0, null,
					"1 while the secondary's primary is lost");
			gauge(meters, "lockstep.replication.faults", disk, DiskReplication::faultCount, null,
					"Classes of replication fault recorded since the last start");
			gauge(meters, "lockstep.replication.sync.total", disk, (d) -> syncBytes(d, SyncStatus::totalBytes), "bytes",
					"Bytes the last or running synchronisation looks at: the whole disk when it compares every chunk");
			gauge(meters, "lockstep.replication.sync.compared", disk, (d) -> syncBytes(d, SyncStatus::comparedBytes),
					"bytes", "Bytes compared by the last or running synchronisation");
			gauge(meters, "lockstep.replication.sync.copied", disk, (d) -> syncBytes(d, SyncStatus::copiedBytes),
					"bytes", "Bytes copied by the last or running synchronisation");
			gauge(meters, "lockstep.replication.verify.compared", disk,
					(d) -> verifyCount(d, VerifyStatus::comparedBytes), "bytes",
					"Bytes compared by the last or running online verify");
			gauge(meters, "lockstep.replication.verify.mismatched", disk,
					(d) -> verifyCount(d, VerifyStatus::mismatchedChunks), "chunks",
					"Chunks found different on the secondary by the last or running online verify");
			gauge(meters, "lockstep.replication.lineage.trusted", disk, (d) -> d.status().lineage().trusted() ? 1 : 0,
					null, "1 while the disk's data lineage can be trusted; 0: the next synchronisation compares "
							+ "every chunk");
			gauge(meters, "lockstep.replication.suspect", disk, (d) -> d.status().lineage().suspectBytes(), "bytes",
					"Bytes a crash left in doubt, compared at the next synchronisation");
			gauge(meters, "lockstep.replication.verify.running", disk,
					(d) -> (d.status().verify() != null && d.status().verify().running()) ? 1 : 0, null,
					"1 while an online verify runs");
			Timer forwarded = Timer.builder("lockstep.replication.forwarded.writes")
				.tag("disk", disk.name())
				.description("Writes, write-zeroes and trims a primary forwarded, from sending each to the "
						+ "secondary's reply")
				.publishPercentileHistogram()
				.register(meters);
			disk.forwardedWrites((nanos) -> forwarded.record(nanos, TimeUnit.NANOSECONDS));
		}
	}

	private static void gauge(MeterRegistry meters, String name, DiskReplication disk,
			ToDoubleFunction<DiskReplication> value, @Nullable String unit, String description, String... tags) {
		Gauge.builder(name, disk, value)
			.tag("disk", disk.name())
			.tags(tags)
			.baseUnit(unit)
			.description(description)
			.register(meters);
	}

	private static long syncBytes(DiskReplication disk, ToLongFunction<SyncStatus> field) {
		SyncStatus sync = disk.status().sync();
		return (sync != null) ? field.applyAsLong(sync) : 0;
	}

	private static long verifyCount(DiskReplication disk, ToLongFunction<VerifyStatus> field) {
		VerifyStatus verify = disk.status().verify();
		return (verify != null) ? field.applyAsLong(verify) : 0;
	}

}
