package dev.lockstep.api;

import io.swagger.v3.oas.annotations.media.Schema;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/**
 * Body of {@code POST /api/v1/pair/start}.
 *
 * @param primary the node to start as primary: {@code self}, the node asked, or
 * {@code peer}
 */
record PairStartRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "self", allowableValues = {
		"self", "peer" }) @NotNull @Pattern(regexp = "self|peer",
				message = "must be \"self\" or \"peer\"") String primary){
}
