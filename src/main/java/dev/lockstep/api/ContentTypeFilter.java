package dev.lockstep.api;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses a request whose {@code Content-Type} is not a concrete media type (a wildcard
 * or an unparsable value) with {@code 415}, before anything tries to read the body with
 * it.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class ContentTypeFilter extends OncePerRequestFilter {

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		String header = request.getHeader(HttpHeaders.CONTENT_TYPE);
		if (header != null && !isConcrete(header)) {
			ProblemDetailWriter.write(response, ProblemType.UNSUPPORTED_MEDIA_TYPE,
					"Content-Type must be a concrete media type such as application/json");
			return;
		}
		chain.doFilter(request, response);
	}

	private static boolean isConcrete(String header) {
		try {
			MediaType type = MediaType.parseMediaType(header);
			return !type.isWildcardType() && !type.isWildcardSubtype();
		}
		catch (InvalidMediaTypeException ex) {
			return false;
		}
	}

}
