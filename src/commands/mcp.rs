//! `proj mcp`: a Model Context Protocol server on stdin/stdout (SPEC §9.7), so a coding
//! agent can do with tools what a careful person does with the CLI: start the stack,
//! wait until it is really up, read the relevant lines, learn why something failed,
//! restart it, type into a prompt, run a one-off command.
//!
//! Theory of operation. The protocol (JSON-RPC framing, the `initialize` handshake or
//! `server/discover`, version negotiation, cancellation) is the official Rust SDK's,
//! `rmcp`; this module only lists the tools and answers their calls. `proj mcp` is a
//! client of the running supervisor, like every other command: one connection to the
//! control socket per call, so it works beside the TUI, `proj attach`, other sessions
//! and the CLI, and the supervisor outlives it. Each tool is the command of the same
//! name with its output captured ([`tools`]): the same client functions of
//! `commands::*` print for the CLI and reply for the agent, and `up` (when nothing
//! runs) and `run` run `proj up -d` and `proj run` themselves ([`child`]).
//!
//! A call never takes the server down: a refusal, an unknown name, bad arguments, a
//! supervisor that is not running are each a tool error (`isError`) whose text is what
//! the CLI would print; the next call is answered as usual. Calls run concurrently
//! (those that wait on the socket on the blocking pool), so a long `wait` holds up no
//! `status`. The server ends, with exit 0, when its stdin closes.

mod arguments;
mod child;
mod reply;
mod terminal;
mod tools;

use std::path::PathBuf;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool as ToolInfo,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};

use crate::Error;

use super::Context;
use reply::Reply;
use tools::Tool;

/// What the server tells the agent before it calls anything.
const INSTRUCTIONS: &str = "proj supervises this project's processes (proj.toml or a \
Procfile). `up` starts them (and a background supervisor) and answers once they are \
running; `status` shows every instance; after an edit, `restart` the process and read the \
answer; when something failed, `why NAME` says how it got there, and `logs` (with names, \
since, grep) shows what it printed. `run` runs a one-off command with the stack's \
environment; `send` types into a `tty = true` process. The processes keep running when \
this session ends; `down` stops them.";

pub(super) fn run(context: &Context) -> Result<(), Error> {
    // One thread answers the protocol; the calls that block on the control socket run
    // on tokio's blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the runtime", error))?;
    let server = Server {
        file: context.file.clone(),
    };
    let served = runtime.block_on(async move {
        let running = match server.serve(rmcp::transport::io::stdio_pipes()).await {
            Ok(running) => running,
            // The client went away before the handshake: nothing to serve, no failure.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(error) => return Err(Error::Mcp(format!("MCP handshake failed: {error}"))),
        };
        running
            .waiting()
            .await
            .map(drop)
            .map_err(|error| Error::Mcp(format!("the MCP server failed: {error}")))
    });
    // A call still blocked on the socket (a long `wait`) has no one to answer to.
    runtime.shutdown_background();
    served
}

/// The MCP server: what `proj mcp -f FILE` was given, for every call.
#[derive(Debug, Clone)]
struct Server {
    file: Option<PathBuf>,
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("proj", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            Tool::ALL.into_iter().map(Tool::info).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<ToolInfo> {
        Tool::named(name).map(Tool::info)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let reply = match Tool::named(&request.name) {
            // A tool error rather than a protocol error, so that the agent reads the
            // list of tools instead of an opaque failure.
            None => Reply::failed(Error::Usage(format!(
                "no tool named `{}`; the tools are: {}",
                request.name,
                Tool::ALL.map(Tool::name).join(", ")
            ))),
            Some(tool) => {
                let arguments = request.arguments.unwrap_or_default();
                tools::call(self.file.clone(), tool, arguments).await
            }
        };
        if reply.is_error() {
            tracing::debug!(tool = %request.name, "tool error");
        }
        Ok(reply.into_result().into())
    }
}
