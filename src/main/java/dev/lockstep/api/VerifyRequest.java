package dev.lockstep.api;

import io.swagger.v3.oas.annotations.media.Schema;
import org.jspecify.annotations.Nullable;

/**
 * Body of {@code POST /api/v1/disks/{name}/verify}; optional.
 *
 * @param repair whether chunks found different are also copied to the secondary at once
 * ({@code true}), or only marked for the next synchronisation ({@code false}, the
 * default)
 */
record VerifyRequest(@Schema(example = "false", defaultValue = "false") @Nullable Boolean repair) {

	boolean repairs() {
		return Boolean.TRUE.equals(this.repair);
	}

}
