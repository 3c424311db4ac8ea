//! Contracts and the inbox their transitions notify.

use super::*;

impl Hub {
    pub fn contract_create(&self, req: &CreateRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::create(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_start(&self, req: &ContractIdRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::start(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_complete(&self, req: &CompleteRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::complete(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_fail(&self, req: &ReasonRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::fail(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_reopen(&self, req: &ReasonRequest) -> Result<Contract> {
        self.command(
            |tx, caller| contracts::reopen(tx, caller, req),
            |tx, ()| contracts::get(tx, &req.contract_id),
        )
    }

    pub fn contract_get(&self, contract_id: &str) -> Result<Contract> {
        self.query(|tx| contracts::get(tx, contract_id))
    }

    pub fn contract_list(&self, req: &contracts::ListRequest) -> Result<Page<Contract>> {
        self.query(|tx| contracts::list(tx, req))
    }

    /// Reading marks notifications read (unless asked not to), so this is a command.
    pub fn inbox_check(&self, req: &CheckRequest) -> Result<Inbox> {
        self.store().write(|tx| inbox::check(tx, &self.caller, req))
    }
}
