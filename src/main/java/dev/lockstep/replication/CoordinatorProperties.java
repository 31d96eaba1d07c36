package dev.lockstep.replication;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.Assert;

/**
 * Configuration of the coordinator, under {@code lockstep.coordinator}.
 *
 * @param callTimeout the deadline of each participant call, unless the participant names
 * its own
 * @param errorTimeout the deadline of each {@code error()} call in the error sweep
 * @param errorCacheTtl how long the result of an error sweep may be reused by probes and
 * status queries
 * @param history how many operation reports are kept in memory
 * @param hardDeadline how long an operation may run before the coordinator counts as
 * wedged; by default the sum of the deadlines of every call the operation may make, plus
 * a margin
 */
@ConfigurationProperties("lockstep.coordinator")
public record CoordinatorProperties(@DefaultValue("30s") Duration callTimeout,
		@DefaultValue("500ms") Duration errorTimeout, @DefaultValue("1s") Duration errorCacheTtl,
		@DefaultValue("100") int history, @Nullable Duration hardDeadline) {

	public CoordinatorProperties {
		requirePositive(callTimeout, "lockstep.coordinator.call-timeout");
		requirePositive(errorTimeout, "lockstep.coordinator.error-timeout");
		Assert.isTrue(errorCacheTtl != null && !errorCacheTtl.isNegative(),
				() -> "lockstep.coordinator.error-cache-ttl must be zero or positive, but was " + errorCacheTtl);
		if (hardDeadline != null) {
			requirePositive(hardDeadline, "lockstep.coordinator.hard-deadline");
		}
		Assert.isTrue(history >= 1 && history <= 10_000,
				() -> "lockstep.coordinator.history must be between 1 and 10000, but was " + history);
	}

	private static void requirePositive(Duration duration, String name) {
		Assert.notNull(duration, () -> name + " must be set");
		Assert.isTrue(!duration.isNegative() && !duration.isZero(),
				() -> name + " must be positive, but was " + duration);
	}

	/**
	 * Returns the defaults.
	 */
	public static CoordinatorProperties defaults() {
		return new CoordinatorProperties(Duration.ofSeconds(30), Duration.ofMillis(500), Duration.ofSeconds(1), 100,
				null);
	}

}
