package dev.lockstep.pair;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * One participant call of a pair operation, on one of the two nodes.
 *
 * @param node the node whose participant was called: {@code self} is the node that ran
 * the pair operation
 * @param nodeOperation the id of the node's own operation report that holds the call, on
 * that node
 * @param participant the participant's name
 * @param action the method called ({@code start}, {@code checkpoint}, {@code stop},
 * {@code compensate}, or a phase)
 * @param outcome how the call ended
 * @param durationMillis how long the call took
 * @param error the failure message, or {@code null}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PairStep(PairNode node, @Nullable String nodeOperation, String participant, String action, String outcome,
		long durationMillis, @Nullable String error) {
}
