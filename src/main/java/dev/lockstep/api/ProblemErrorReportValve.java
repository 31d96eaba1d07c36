package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import dev.lockstep.logging.LogText;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.http.MediaType;

/**
 * Tomcat's error report for requests it rejects before they reach the application (for
 * example an encoded slash in the path, or a request header over
 * {@code server.max-http-request-header-size}), as problem+json instead of Tomcat's HTML
 * page with its version and exception. A request Tomcat could not parse is logged here in
 * one line with its reason; Tomcat's own report of it, with a stack trace, is turned off
 * in {@code application.yaml}.
 */
public final class ProblemErrorReportValve extends ErrorReportValve {

	private static final Log logger = LogFactory.getLog(ProblemErrorReportValve.class);

	@Override
	protected void report(Request request, Response response, @Nullable Throwable throwable) {
		int status = response.getStatus();
		if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
			return;
		}
		if (throwable != null && status < 500) {
			logger.info("Rejected a request from " + request.getRemoteAddr() + " with " + status + ": "
					+ LogText.quote(throwable.getMessage()));
		}
		ProblemType type = ProblemType.forStatus(status);
		String detail = (status < 500) ? "The request was rejected by the server: it is not a valid request"
				: "The request could not be completed because of an internal error";
		String body = ProblemDetailWriter.json(type, detail);
		try {
			response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
			response.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
			response.finishResponse();
		}
		catch (IOException | IllegalStateException ex) {
			// the client is gone or the response is already committed: nothing more to
			// say
		}
	}

}
