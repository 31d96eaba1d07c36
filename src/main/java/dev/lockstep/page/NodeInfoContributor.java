package dev.lockstep.page;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;

/**
 * Adds what the status page shows of the node to {@code /actuator/info}: {@code uptime}
 * (when the process started, and how many seconds ago) and {@code pair.configured}
 * (whether {@code lockstep.pair.peer-api} is set, so that the page asks
 * {@code GET /api/v1/pair} only when it can answer). The version is Spring Boot's own
 * {@code build.version}.
 */
final class NodeInfoContributor implements InfoContributor {

	private final Instant startedAt;

	private final boolean pairConfigured;

	private final Clock clock;

	NodeInfoContributor(Instant startedAt, boolean pairConfigured, Clock clock) {
		this.startedAt = startedAt;
		this.pairConfigured = pairConfigured;
		this.clock = clock;
	}

	@Override
	public void contribute(Info.Builder builder) {
		long seconds = Duration.between(this.startedAt, this.clock.instant()).toSeconds();
		builder.withDetail("uptime", Map.of("startedAt", this.startedAt.toString(), "seconds", Math.max(0, seconds)));
		builder.withDetail("pair", Map.of("configured", this.pairConfigured));
	}

}
