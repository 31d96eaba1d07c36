package dev.lockstep.api;

import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import org.jspecify.annotations.Nullable;

/**
 * Body of {@code POST /api/v1/replication/stop}.
 *
 * @param failover whether this node takes over from a failed peer ({@code true}), or
 * replication is ending as planned ({@code false})
 * @param force with {@code failover}, whether to skip the check that the peer is not
 * still running as primary; not allowed without {@code failover}
 */
record StopRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "false") @NotNull Boolean failover,
		@Schema(description = "With failover: skip the check that the peer (lockstep.pair.peer-api) is not "
				+ "still running as primary. Not allowed without failover.", defaultValue = "false",
				example = "false") @Nullable Boolean force) {

	/**
	 * Whether the caller forces a failover.
	 */
	boolean forced() {
		return Boolean.TRUE.equals(this.force);
	}

}
