package dev.lockstep.pair;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * One of the two nodes of a pair, as seen from the node that runs a pair operation.
 */
public enum PairNode {

	/** The node that runs the pair operation. */
	SELF,

	/** The other node, reached through {@code lockstep.pair.peer-api}. */
	PEER;

	/** The other node. */
	public PairNode other() {
		return (this == SELF) ? PEER : SELF;
	}

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

	/**
	 * The node of that name ({@code self} or {@code peer}, in any case).
	 * @throws IllegalArgumentException if it names neither
	 */
	public static PairNode of(String name) {
		for (PairNode node : values()) {
			if (node.value().equalsIgnoreCase(name.strip())) {
				return node;
			}
		}
		throw new IllegalArgumentException("'" + name + "' is neither 'self' nor 'peer'");
	}

}
